#include "broker/server/proto_conversion.h"

namespace parley::broker {
namespace {

parley::v1::MessageKind ToProto(MessageKind kind) {
  switch (kind) {
    case MessageKind::kChat:
      return parley::v1::CHAT;
    case MessageKind::kDirect:
      return parley::v1::DIRECT;
    case MessageKind::kJoin:
      return parley::v1::JOIN;
    case MessageKind::kLeave:
      return parley::v1::LEAVE;
    case MessageKind::kSystem:
      return parley::v1::SYSTEM;
  }
  return parley::v1::MESSAGE_KIND_UNSPECIFIED;
}

}  // namespace

void ToProto(const RoomPresenceInfo& room, parley::v1::RoomPresence* out) {
  out->set_room(room.room);
  out->set_version(room.presence.version);
  out->set_members(room.presence.members);
  out->set_online(room.presence.online);
  out->set_mode(room.presence.mode == PresenceMode::kEvents ? parley::v1::PRESENCE_MODE_EVENTS
                                                            : parley::v1::PRESENCE_MODE_COUNTS);
}

void ToProto(const Message& message, uint64_t seq, parley::v1::Message* out) {
  out->set_id(message.id);
  out->set_seq(seq);
  out->set_kind(ToProto(message.kind));
  out->set_room(message.room);
  out->set_from(message.from);
  out->set_to(message.to);
  out->set_text(message.text);
  out->set_from_holder(message.from_holder);
  out->set_to_holder(message.to_holder);
  const int64_t nanos = absl::ToUnixNanos(message.sent_at);
  out->mutable_sent_at()->set_seconds(nanos / 1'000'000'000);
  out->mutable_sent_at()->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

void ToProto(const ReadOutcome& outcome, parley::v1::PollResponse* out) {
  for (const SequencedMessage& message : outcome.read.messages) {
    ToProto(*message.message, message.seq, out->add_messages());
  }
  ToProtoWithoutMessages(outcome, out);
}

void ToProtoWithoutMessages(const ReadOutcome& outcome, parley::v1::PollResponse* out) {
  out->set_cursor(outcome.read.cursor);
  out->set_gap(outcome.read.gap);
  out->set_epoch(outcome.epoch);
  for (const RoomPresenceInfo& room : outcome.presence) ToProto(room, out->add_presence());
}

void ToProto(const RoomListing& room, parley::v1::RoomListing* out) {
  out->set_name(room.name);
  out->set_private_(room.is_private);
  out->set_kept(room.kept);
  ToProto({room.name, room.presence}, out->mutable_presence());
}

}  // namespace parley::broker
