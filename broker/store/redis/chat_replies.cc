#include "broker/store/redis/chat_replies.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/store/redis/script_reply.h"
#include "broker/store/redis/stored_message.h"

namespace parley::broker::redis {
namespace {

ShardWrites WritesOf(ScriptReply& reply) { return {reply.Uint("writes"), reply.Uint("event")}; }

PresenceSnapshot PresenceOf(ScriptReply& reply) {
  PresenceSnapshot presence;
  presence.version = reply.Uint("version");
  presence.members = reply.Uint("members");
  presence.online = reply.Uint("online");
  presence.mode = reply.Int("mode") == 1 ? PresenceMode::kCounts : PresenceMode::kEvents;
  return presence;
}

NumberedLine LineOf(ScriptReply& reply) {
  NumberedLine line;
  line.n = reply.Uint("n");
  line.epoch = reply.Str("epoch");
  for (const RedisReply& shard : reply.Array("shards").elements) {
    size_t at = 0;
    if (absl::SimpleAtoi(shard.str, &at)) line.shards.push_back(at);
  }
  return line;
}

// The value, or the reply's status if a field was amiss.
template <typename T>
absl::StatusOr<T> Checked(const ScriptReply& reply, T value) {
  if (absl::Status status = reply.status(); !status.ok()) return status;
  return value;
}

// A stream entry's seq (its id is "<seq>-0").
uint64_t EntrySeq(const RedisReply& entry) {
  uint64_t seq = 0;
  if (!entry.elements.empty()) {
    const std::string& id = entry.elements[0].str;
    (void)absl::SimpleAtoi(absl::string_view(id).substr(0, id.find('-')), &seq);
  }
  return seq;
}

// Stream entries [id, field/value pairs] as messages; `strict`: an unreadable one fails all.
absl::StatusOr<std::vector<SequencedMessage>> EntriesOf(const RedisReply& entries, bool strict) {
  std::vector<SequencedMessage> out;
  out.reserve(entries.elements.size());
  for (const RedisReply& entry : entries.elements) {
    absl::StatusOr<MessagePtr> message = entry.elements.size() == 2
                                             ? MessageFromPairs(entry.elements[1])
                                             : absl::InternalError("a stream entry without fields");
    const uint64_t seq = EntrySeq(entry);
    if (!message.ok() || seq == 0) {
      if (strict && !message.ok()) return message.status();
      if (strict) return absl::InternalError("a stream entry without a seq");
      continue;
    }
    out.push_back({seq, *std::move(message)});
  }
  return out;
}

// The message a field holds as {'m', packed}.
absl::StatusOr<MessagePtr> MessageField(ScriptReply& reply, absl::string_view name) {
  const RedisReply& pairs = reply.Array(name);
  if (absl::Status status = reply.status(); !status.ok()) return status;
  return MessageFromPairs(pairs);
}

}  // namespace

absl::Status ParseOk(absl::string_view operation, const RedisReply& reply) {
  ScriptReply answer(operation, reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return answer.status();
}

absl::StatusOr<SessionState> ParseEndedCheck(const RedisReply& reply) {
  ScriptReply answer("ended_check", reply);
  const std::optional<SessionState> state =
      answer.OutcomeIn<SessionState>({{"ended", SessionState::kEnded},
                                      {"lost", SessionState::kMayBeEnded},
                                      {"open", SessionState::kOpen}});
  if (!state.has_value()) return answer.UnexpectedOutcome();
  return *state;
}

absl::StatusOr<ShardWrites> ParseEndedRecord(const RedisReply& reply) {
  ScriptReply answer("ended_record", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, WritesOf(answer));
}

absl::StatusOr<ClaimReply> ParseClaim(const RedisReply& reply) {
  ScriptReply answer("claim", reply);
  using Outcome = ClaimReply::Outcome;
  const std::optional<Outcome> outcome =
      answer.OutcomeIn<Outcome>({{"resumed", Outcome::kResumed},
                                 {"created", Outcome::kCreated},
                                 {"held", Outcome::kHeld},
                                 {"draining", Outcome::kDraining},
                                 {"revoked", Outcome::kRevoked}});
  if (!outcome.has_value()) return answer.UnexpectedOutcome();
  ClaimReply claim;
  claim.outcome = *outcome;
  switch (claim.outcome) {
    case Outcome::kResumed:
      claim.seq = answer.Uint("seq");
      claim.went_online = answer.Flag("went_online");
      claim.rooms = answer.Strings("rooms");
      [[fallthrough]];
    case Outcome::kCreated:
      claim.epoch = answer.Uint("epoch");
      claim.pending = answer.Strings("pending");
      claim.admit = answer.Strings("admit");
      break;
    case Outcome::kHeld: {
      claim.holder = answer.Str("holder");
      claim.holder_active_ms = answer.Str("active");
      int64_t ms = 0;
      if (absl::SimpleAtoi(claim.holder_active_ms, &ms)) {
        claim.holder_active = absl::FromUnixMillis(ms);
      }
      break;
    }
    case Outcome::kDraining:
    case Outcome::kRevoked:
      break;
  }
  return Checked(answer, std::move(claim));
}

absl::StatusOr<UserRemoveReply> ParseUserRemove(const RedisReply& reply) {
  ScriptReply answer("user_remove", reply);
  using Outcome = UserRemoveReply::Outcome;
  const std::optional<Outcome> outcome = answer.OutcomeIn<Outcome>({{"removed", Outcome::kRemoved},
                                                                    {"missing", Outcome::kMissing},
                                                                    {"denied", Outcome::kDenied},
                                                                    {"active", Outcome::kActive}});
  if (!outcome.has_value()) return answer.UnexpectedOutcome();
  UserRemoveReply removed;
  removed.outcome = *outcome;
  if (removed.outcome == Outcome::kActive) return removed;
  removed.pending = answer.Strings("pending");
  return Checked(answer, std::move(removed));
}

absl::StatusOr<std::optional<bool>> ParseMemberAdd(const RedisReply& reply) {
  ScriptReply answer("member_add", reply);
  if (answer.Is("missing")) return std::optional<bool>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, std::optional<bool>(answer.Flag("online")));
}

absl::StatusOr<MemberLeaveReply> ParseMemberLeave(const RedisReply& reply) {
  ScriptReply answer("member_leave", reply);
  using Outcome = MemberLeaveReply::Outcome;
  const std::optional<Outcome> outcome =
      answer.OutcomeIn<Outcome>({{"left", Outcome::kLeft},
                                 {"pending", Outcome::kPending},
                                 {"done", Outcome::kDone},
                                 {"not_member", Outcome::kNotMember},
                                 {"missing", Outcome::kMissing}});
  if (!outcome.has_value()) return answer.UnexpectedOutcome();
  MemberLeaveReply left;
  left.outcome = *outcome;
  if (left.outcome == Outcome::kLeft) left.writes = WritesOf(answer);
  return Checked(answer, left);
}

absl::StatusOr<std::optional<UserInfoReply>> ParseUserInfo(const RedisReply& reply) {
  ScriptReply answer("user_info", reply);
  if (answer.Is("missing")) return std::optional<UserInfoReply>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  UserInfoReply info;
  info.epoch = answer.Uint("epoch");
  info.seq = answer.Uint("seq");
  info.rooms = answer.Strings("rooms");
  return Checked(answer, std::optional<UserInfoReply>(std::move(info)));
}

absl::StatusOr<RoomJoinReply> ParseRoomJoin(const RedisReply& reply) {
  ScriptReply answer("room_join", reply);
  RoomJoinReply join;
  if (answer.Is("joined")) {
    join.joined = true;
    join.created = answer.Flag("created");
    join.line = LineOf(answer);
    join.writes = WritesOf(answer);
  } else if (!answer.Is("member")) {
    return answer.UnexpectedOutcome();
  }
  join.presence = PresenceOf(answer);
  return Checked(answer, std::move(join));
}

absl::StatusOr<RoomLeaveReply> ParseRoomLeave(const RedisReply& reply) {
  ScriptReply answer("room_leave", reply);
  RoomLeaveReply leave;
  if (answer.Is("not_member")) return leave;
  if (!answer.Is("left")) return answer.UnexpectedOutcome();
  leave.left = true;
  leave.line = LineOf(answer);
  leave.writes = WritesOf(answer);
  return Checked(answer, std::move(leave));
}

absl::StatusOr<std::vector<std::optional<RoomPresenceRow>>> ParseRoomsPresence(
    const RedisReply& reply) {
  ScriptReply answer("rooms_presence", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  std::vector<std::optional<RoomPresenceRow>> rows;
  for (const RedisReply& room : answer.Array("rooms").elements) {
    ScriptReply row("rooms_presence", room);
    if (row.Is("gone")) {
      rows.emplace_back();
      continue;
    }
    if (!row.Is("live")) return row.UnexpectedOutcome();
    RoomPresenceRow live{PresenceOf(row), row.Uint("published_version")};
    if (absl::Status status = row.status(); !status.ok()) return status;
    rows.push_back(live);
  }
  return Checked(answer, std::move(rows));
}

absl::StatusOr<PublishCheckReply> ParsePublishCheck(const RedisReply& reply) {
  ScriptReply answer("publish_check", reply);
  PublishCheckReply check;
  if (answer.Is("ok")) {
    check.outcome = PublishCheckReply::Outcome::kOk;
  } else if (answer.Is("missing")) {
    check.outcome = PublishCheckReply::Outcome::kMissing;
  } else if (answer.Is("not_holder")) {
    check.outcome = PublishCheckReply::Outcome::kNotHolder;
  } else if (answer.Is("dup") || answer.Is("resume")) {
    check.outcome = answer.Is("dup") ? PublishCheckReply::Outcome::kDuplicate
                                     : PublishCheckReply::Outcome::kResume;
    absl::StatusOr<MessagePtr> message = MessageField(answer, "message");
    if (!message.ok()) return message.status();
    check.message = *std::move(message);
    if (check.outcome == PublishCheckReply::Outcome::kDuplicate) {
      check.recipients = static_cast<uint32_t>(answer.Uint("recipients"));
    }
  } else if (answer.Is("limited")) {
    check.outcome = PublishCheckReply::Outcome::kLimited;
    double ms = 0;
    (void)absl::SimpleAtod(answer.Str("wait_ms"), &ms);
    check.limited_for = std::max(absl::Milliseconds(ms), absl::Nanoseconds(1));
  } else {
    return answer.UnexpectedOutcome();
  }
  return Checked(answer, std::move(check));
}

absl::StatusOr<RoomSequenceReply> ParseRoomSequence(const RedisReply& reply) {
  ScriptReply answer("room_sequence", reply);
  RoomSequenceReply sequenced;
  if (answer.Is("no_room")) {
    sequenced.outcome = RoomSequenceReply::Outcome::kNoRoom;
    return sequenced;
  }
  if (answer.Is("not_member")) {
    sequenced.outcome = RoomSequenceReply::Outcome::kNotMember;
    return sequenced;
  }
  if (answer.Is("ok")) {
    sequenced.outcome = RoomSequenceReply::Outcome::kOk;
    sequenced.renumbered = answer.Flag("renumbered");
  } else if (answer.Is("again")) {
    sequenced.outcome = RoomSequenceReply::Outcome::kAgain;
    absl::StatusOr<MessagePtr> message = MessageField(answer, "message");
    if (!message.ok()) return message.status();
    sequenced.message = *std::move(message);
  } else {
    return answer.UnexpectedOutcome();
  }
  sequenced.line = LineOf(answer);
  sequenced.writes = WritesOf(answer);
  return Checked(answer, std::move(sequenced));
}

absl::StatusOr<std::vector<SequencedMessage>> ParseRoomLog(const RedisReply& reply) {
  ScriptReply answer("room_log", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  const RedisReply& lines = answer.Array("lines");
  if (absl::Status status = answer.status(); !status.ok()) return status;
  return EntriesOf(lines, /*strict=*/false);
}

absl::StatusOr<DeliverReply> ParseDeliver(const RedisReply& reply) {
  ScriptReply answer("deliver", reply);
  DeliverReply delivered;
  if (answer.Is("ok")) {
    delivered.recipients = static_cast<uint32_t>(answer.Uint("recipients"));
    delivered.writes = WritesOf(answer);
  } else if (answer.Is("behind") || answer.Is("reused")) {
    delivered.outcome =
        answer.Is("behind") ? DeliverReply::Outcome::kBehind : DeliverReply::Outcome::kReused;
    delivered.applied = answer.Uint("applied");
  } else {
    return answer.UnexpectedOutcome();
  }
  return Checked(answer, delivered);
}

absl::StatusOr<UserAppendReply> ParseUserAppend(const RedisReply& reply) {
  ScriptReply answer("user_append", reply);
  using Outcome = UserAppendReply::Outcome;
  const std::optional<Outcome> outcome =
      answer.OutcomeIn<Outcome>({{"ok", Outcome::kAppended},
                                 {"held", Outcome::kHeld},
                                 {"again", Outcome::kAgain},
                                 {"missing", Outcome::kMissing},
                                 {"other_holder", Outcome::kOtherHolder}});
  if (!outcome.has_value()) return answer.UnexpectedOutcome();
  UserAppendReply appended;
  appended.outcome = *outcome;
  if (appended.outcome == Outcome::kAppended || appended.outcome == Outcome::kHeld) {
    appended.holder = answer.Str("holder");
    appended.writes = WritesOf(answer);
  }
  appended.held = appended.outcome == Outcome::kHeld ||
                  (appended.outcome == Outcome::kAgain && answer.Flag("held"));
  return Checked(answer, appended);
}

absl::StatusOr<ReadReply> ParseRead(const RedisReply& reply) {
  ScriptReply answer("read", reply);
  ReadReply read;
  if (answer.Is("missing")) {
    read.outcome = ReadReply::Outcome::kMissing;
    return read;
  }
  if (answer.Is("beyond")) {
    read.outcome = ReadReply::Outcome::kBeyond;
    read.last_seq = answer.Uint("seq");
    read.epoch = answer.Uint("epoch");
    return Checked(answer, std::move(read));
  }
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  read.epoch = answer.Uint("epoch");
  read.epoch_changed = answer.Flag("epoch_changed");
  read.read.gap = answer.Flag("gap");
  read.read.missed = answer.Uint("missed");
  read.read.cursor = answer.Uint("cursor");
  read.went_online = answer.Flag("went_online");
  read.rooms = answer.Strings("rooms");
  std::sort(read.rooms.begin(), read.rooms.end());
  read.last_seq = answer.Uint("seq");
  read.event = answer.Uint("event");
  const RedisReply& entries = answer.Array("entries");
  if (absl::Status status = answer.status(); !status.ok()) return status;
  absl::StatusOr<std::vector<SequencedMessage>> messages = EntriesOf(entries, /*strict=*/true);
  if (!messages.ok()) return messages.status();
  read.read.messages = *std::move(messages);
  return read;
}

absl::StatusOr<std::vector<absl::StatusOr<ReadReply>>> ParseReadMany(const RedisReply& reply,
                                                                     size_t count) {
  ScriptReply answer("read_many", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  const RedisReply& reads = answer.Array("reads");
  if (absl::Status status = answer.status(); !status.ok()) return status;
  if (reads.elements.size() != count) {
    return absl::InternalError(
        absl::StrCat("chat.lua's read_many answered ", reads.elements.size(), " reads of ", count));
  }
  std::vector<absl::StatusOr<ReadReply>> out;
  out.reserve(count);
  for (const RedisReply& read : reads.elements) out.push_back(ParseRead(read));
  return out;
}

absl::StatusOr<std::optional<std::vector<std::string>>> ParseRoomsOf(const RedisReply& reply) {
  ScriptReply answer("rooms_of", reply);
  if (answer.Is("missing")) return std::optional<std::vector<std::string>>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, std::optional<std::vector<std::string>>(answer.Strings("rooms")));
}

absl::StatusOr<std::optional<HistoryPage>> ParseHistory(const RedisReply& reply) {
  ScriptReply answer("history", reply);
  if (answer.Is("no_room")) return std::optional<HistoryPage>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  const RedisReply& entries = answer.Array("entries");
  HistoryPage page;
  page.older = answer.Str("older");
  if (absl::Status status = answer.status(); !status.ok()) return status;
  // History entries have Redis's own ids (not seqs): read the messages only.
  for (const RedisReply& entry : entries.elements) {
    if (entry.elements.size() != 2) continue;
    absl::StatusOr<MessagePtr> message = MessageFromPairs(entry.elements[1]);
    if (!message.ok()) return message.status();
    page.messages.push_back(*std::move(message));
  }
  std::reverse(page.messages.begin(), page.messages.end());  // oldest first
  return std::optional<HistoryPage>(std::move(page));
}

absl::StatusOr<std::optional<MembersResult>> ParseMembers(const RedisReply& reply) {
  ScriptReply answer("members", reply);
  if (answer.Is("no_room")) return std::optional<MembersResult>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  MembersResult result;
  result.page.next_after = answer.Str("next_after");
  const std::vector<std::string> names = answer.Strings("names");
  const RedisReply& online = answer.Array("online_flags");
  for (size_t i = 0; i < names.size(); ++i) {
    int64_t flag = 0;
    if (i < online.elements.size()) (void)ReplyNumber(online.elements[i], &flag);
    result.page.members.push_back({names[i], flag == 1});
  }
  result.presence = PresenceOf(answer);
  return Checked(answer, std::optional<MembersResult>(std::move(result)));
}

absl::StatusOr<SweepReply> ParseSweep(const RedisReply& reply) {
  ScriptReply answer("sweep", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  SweepReply swept;
  swept.expired = answer.Strings("expired");
  swept.offline = answer.Strings("offline");
  swept.leaving = answer.Strings("leaving");
  auto lists = [](const RedisReply& array) {
    std::vector<std::vector<std::string>> out;
    for (const RedisReply& list : array.elements) {
      std::vector<std::string>& names = out.emplace_back();
      for (const RedisReply& name : list.elements) names.push_back(name.str);
    }
    return out;
  };
  swept.offline_rooms = lists(answer.Array("offline_rooms"));
  swept.leaving_rooms = lists(answer.Array("leaving_rooms"));
  swept.offline_rooms.resize(swept.offline.size());
  swept.leaving_rooms.resize(swept.leaving.size());
  return Checked(answer, std::move(swept));
}

absl::StatusOr<std::vector<ChangedPresence>> ParsePresenceChangedRooms(const RedisReply& reply) {
  ScriptReply answer("presence_changed_rooms", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  std::vector<ChangedPresence> rooms;
  for (const RedisReply& room : answer.Array("rooms").elements) {
    ScriptReply row("presence_changed_rooms", room);
    ChangedPresence changed;
    changed.room = row.Str("name");
    changed.members = row.Uint("members");
    if (const int64_t at = row.Int("published_at"); at >= 0) {
      changed.published_at = absl::FromUnixMillis(at);
    }
    if (absl::Status status = row.status(); !status.ok()) return status;
    rooms.push_back(std::move(changed));
  }
  return Checked(answer, std::move(rooms));
}

absl::StatusOr<uint64_t> ParsePresencePublish(const RedisReply& reply) {
  ScriptReply answer("presence_publish", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, answer.Uint("published"));
}

absl::StatusOr<std::string> ParseShardCheck(const RedisReply& reply) {
  ScriptReply answer("shard_check", reply);
  if (answer.Is("ok")) return std::string();
  if (!answer.Is("mismatch")) return answer.UnexpectedOutcome();
  return Checked(answer, answer.Str("first"));
}

absl::StatusOr<CountsReply> ParseCounts(const RedisReply& reply) {
  ScriptReply answer("counts", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  CountsReply counts{answer.Uint("users"), answer.Uint("rooms")};
  return Checked(answer, counts);
}

absl::StatusOr<bool> ParseRoomAccess(const RedisReply& reply) {
  ScriptReply answer("room_access", reply);
  if (answer.Is("denied")) return false;
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return true;
}

absl::StatusOr<std::optional<PresenceSnapshot>> ParseRoomCreate(const RedisReply& reply) {
  ScriptReply answer("room_create", reply);
  if (answer.Is("exists")) return std::optional<PresenceSnapshot>();
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, std::optional<PresenceSnapshot>(PresenceOf(answer)));
}

absl::StatusOr<bool> ParseAccessChange(const RedisReply& reply) {
  ScriptReply answer("access_change", reply);
  if (answer.Is("no_room")) return false;
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return true;
}

absl::StatusOr<bool> ParseAllowedChange(const RedisReply& reply) {
  ScriptReply answer("allowed_change", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, answer.Flag("connected"));
}

absl::StatusOr<ShardWrites> ParseRevoke(const RedisReply& reply) {
  ScriptReply answer("revoke", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  return Checked(answer, WritesOf(answer));
}

absl::StatusOr<std::vector<RoomListing>> ParseRoomsList(const RedisReply& reply) {
  ScriptReply answer("rooms_list", reply);
  if (!answer.Is("ok")) return answer.UnexpectedOutcome();
  std::vector<RoomListing> rooms;
  for (const RedisReply& room : answer.Array("rooms").elements) {
    ScriptReply row("rooms_list", room);
    if (!row.Is("room")) return row.UnexpectedOutcome();
    RoomListing listing{row.Str("name"), row.Flag("private"), row.Flag("kept"), PresenceOf(row)};
    if (absl::Status status = row.status(); !status.ok()) return status;
    rooms.push_back(std::move(listing));
  }
  return Checked(answer, std::move(rooms));
}

}  // namespace parley::broker::redis
