#ifndef PARLEY_BROKER_SERVER_PROTO_CONVERSION_H_
#define PARLEY_BROKER_SERVER_PROTO_CONVERSION_H_

#include <cstdint>

#include "broker/core/chat_state.h"
#include "broker/core/message.h"
#include "parley/v1/broker.pb.h"

namespace parley::broker {

// Fills `out` from a stored message; seq is 0 for messages read outside a queue.
void ToProto(const Message& message, uint64_t seq, parley::v1::Message* out);
void ToProto(const RoomPresenceInfo& room, parley::v1::RoomPresence* out);
void ToProto(const RoomListing& room, parley::v1::RoomListing* out);
// A poll's answer: its messages (each with its seq), cursor, gap, epoch and presence.
void ToProto(const ReadOutcome& outcome, parley::v1::PollResponse* out);
// The same without the messages (a PollStream answer gives them by reference).
void ToProtoWithoutMessages(const ReadOutcome& outcome, parley::v1::PollResponse* out);

}  // namespace parley::broker

#endif  // PARLEY_BROKER_SERVER_PROTO_CONVERSION_H_
