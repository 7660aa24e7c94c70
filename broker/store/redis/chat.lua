-- Parley's chat state in Redis: one library, one operation per call. ARGV[1] names the
-- operation; every operation touches the keys of one shard only (the layout is in
-- docs/architecture.md, "The Redis store"), and gets what it must decide by as arguments
-- (now, capacities, windows, thresholds), so the rules' numbers come from the broker.
-- Answers are arrays whose first element says what happened; an unexpected state is an
-- error reply "INTERNAL ...". Times are milliseconds; a message is 7 values in the order
-- kind, id, room, from, to, text, sent_at (microseconds), stored packed (message_pairs).

local NOTIFY = 'parley:notify'
local KIND_CHAT = '0'
local argv = ARGV

local function num(i) return tonumber(argv[i]) end
local num_now = 0

-- The message in argv[at .. at+6] as field/value pairs for XADD or HSET: one field 'm', its
-- seven values each as '<length>:<bytes>' (stored_message.cc reads them back). One field, not
-- seven, because every member queue gets a copy, and Lua's cost is per value it passes.
local function message_pairs(at)
  local parts = {}
  for j = 0, 6 do
    local v = argv[at + j]
    parts[j + 1] = #v .. ':' .. v
  end
  return {'m', table.concat(parts)}
end

local function user_key(user) return 'pu:' .. user end

-- Tells every broker: '<kind>:<name> <Redis time in microseconds> <event>[\n<body>]'. The time
-- is for the wake-lag metric; events are numbered by shard ('pev'), so a broker knows which
-- came after a read (which answers the number it saw) and that it missed none (QueueMirror).
local function notify(kind, name, body)
  local t = redis.call('TIME')
  local event = redis.call('INCR', 'pev')
  local payload = kind .. ':' .. name .. ' ' .. t[1] .. string.format('%06d', t[2]) .. ' ' .. event
  if body then payload = payload .. '\n' .. body end
  redis.call('PUBLISH', NOTIFY, payload)
end
local function room_key(room) return 'pr:' .. room end

-- Appends a message (XADD field/value pairs) to the user's queue; its seq, or false if the
-- user does not exist. The caller counts it in 'pwrites' in the same script (lost with the
-- append, or kept with it).
local function append(user, pairs_, capacity)
  local u = user_key(user)
  if redis.call('EXISTS', u) == 0 then return false end
  local seq = redis.call('HINCRBY', u, 'seq', 1)
  redis.call('XADD', u .. ':q', 'MAXLEN', '=', capacity, seq .. '-0', unpack(pairs_))
  return seq
end

local function live_presence(room)
  local r = room_key(room)
  local h = redis.call('HMGET', r, 'version', 'mode', 'pub_version')
  return {tonumber(h[1]), redis.call('ZCARD', r .. ':m'), redis.call('ZCARD', r .. ':on'),
          tonumber(h[2]), tonumber(h[3])}
end

-- Bumps the room's presence version and marks it unpublished.
local function presence_changed(room)
  local version = redis.call('INCR', 'pclock')
  redis.call('HSET', room_key(room), 'version', version)
  redis.call('SADD', 'pdue', room)
  return version
end

-- The presence mode after a change of member count (RoomPresence::UpdateMode): EVENTS (0)
-- until the room grows past events_max, then COUNTS (1) until it shrinks to 3/4 of that.
local function update_mode(room, events_max)
  local r = room_key(room)
  local mode = tonumber(redis.call('HGET', r, 'mode'))
  local members = redis.call('ZCARD', r .. ':m')
  if mode == 0 and members > events_max then
    mode = 1
  elseif mode == 1 and members <= events_max - math.floor(events_max / 4) then
    mode = 0
  end
  redis.call('HSET', r, 'mode', mode)
  return mode
end

-- A room's lines are numbered (its seq) within the room's epoch. The epoch changes when the
-- room's shard was fenced since it was given (the shard lost writes: its seqs could be given
-- again), and a new room gets a fresh one: Redis's time in microseconds, so epochs only grow
-- and a shard delivering lines knows which came later. A room from before epochs has epoch 0.
local function new_room_epoch()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', t[2])
end

-- The room's current epoch, a new one (its seq and log restarted) if the shard was fenced.
local function room_epoch(room)
  local r = room_key(room)
  local h = redis.call('HMGET', r, 'epoch', 'fence')
  local fence = redis.call('GET', 'pfence') or '0'
  if (h[2] or '0') == fence then return h[1] or '0' end
  local epoch = new_room_epoch()
  redis.call('HSET', r, 'epoch', epoch, 'fence', fence, 'seq', 0)
  redis.call('DEL', r .. ':log')
  return epoch
end

-- Gives the room's next line its room seq and logs it for shards catching up; counted as a
-- write (a shard that loses it is fenced, and the room's epoch changes). Answers seq, epoch.
local function sequence(room, pairs_, log_max)
  local r = room_key(room)
  local epoch = room_epoch(room)
  local n = redis.call('HINCRBY', r, 'seq', 1)
  redis.call('XADD', r .. ':log', 'MAXLEN', '~', log_max, n .. '-0', unpack(pairs_))
  redis.call('INCR', 'pwrites')
  return n, epoch
end

-- The shards with members of the room (pr:R:shards: shard -> members there), which its lines
-- are delivered to; {} for a room from before that count was kept: every shard.
local function member_shards(room)
  local r = room_key(room)
  if redis.call('HGET', r, 'tracked') ~= '1' then return {} end
  local out = {}
  local counts = redis.call('HGETALL', r .. ':shards')
  for i = 1, #counts, 2 do
    if tonumber(counts[i + 1]) > 0 then out[#out + 1] = counts[i] end
  end
  return out
end

-- The shard's write count and last notification, for the broker (its loss fence and mirror).
local function writes_and_event()
  return tonumber(redis.call('GET', 'pwrites') or '0'), tonumber(redis.call('GET', 'pev') or '0')
end

-- The user's epoch as clients should see it: a fence on this shard (it lost writes) since the
-- epoch was given means the queue's seqs may be given again, so the user gets `candidate`.
-- `known`: the user's epoch and fence when the caller has them (one HMGET fewer).
local function current_epoch(user, candidate, known)
  local u = user_key(user)
  local h = known or redis.call('HMGET', u, 'epoch', 'fence')
  local fence = redis.call('GET', 'pfence') or '0'
  if (h[2] or '0') ~= fence then
    redis.call('HSET', u, 'epoch', candidate, 'fence', fence)
    return candidate
  end
  return h[1]
end

local function touch(user, now)
  redis.call('HSET', user_key(user), 'active', now)
  redis.call('ZADD', 'pactive', now, user)
end

-- A Connect or a read: the user is active now, and online; answers 1 if it was not online.
local function seen_now(user, now, online)
  touch(user, now)
  if online == '1' then return 0 end
  redis.call('HSET', user_key(user), 'online', 1)
  return 1
end

-- The user's side of leaving `room` (its rooms, the shard's member list of the room), and the
-- intent to finish the room's side (pu:U:leaving, found through pleaving): whoever touches the
-- user next finishes it (leaving_done after the room's side), so a leave never stays half done.
local function leave_user_side(user, room, now)
  local u = user_key(user)
  redis.call('SREM', u .. ':rooms', room)
  redis.call('SREM', 'pl:' .. room, user)
  if redis.call('SCARD', 'pl:' .. room) == 0 then redis.call('DEL', 'pl:' .. room .. ':at') end
  redis.call('SADD', u .. ':leaving', room)
  redis.call('ZADD', 'pleaving', now, user)
end

-- Rooms whose side of a leave by the user is still to be done.
local function pending_leaves(user) return redis.call('SMEMBERS', user_key(user) .. ':leaving') end

-- Removes the user's own keys, its rooms left on its side first (their sides pending).
local function remove_user(user, now)
  local u = user_key(user)
  for _, room in ipairs(redis.call('SMEMBERS', u .. ':rooms')) do leave_user_side(user, room, now) end
  redis.call('DEL', u, u .. ':q', u .. ':rooms')
  redis.call('ZREM', 'pactive', user)
  notify('u', user)
end

local ops = {}

-- Keys that expire (logged-out sessions, idempotency answers, markers) hold the time they
-- end; that time decides, and their TTL only collects them once it is past.
local function alive(until_) return until_ and tonumber(until_) > num_now end

-- ended_check(session, now): whether the session was logged out (and not yet forgotten).
ops.ended_check = function()
  num_now = num(3)
  if alive(redis.call('GET', 'pe:' .. argv[2])) then return {1} end
  return {0}
end

-- ended_record(session, now, memory_ms)
ops.ended_record = function()
  redis.call('SET', 'pe:' .. argv[2], num(3) + num(4), 'PX', argv[4])
  return {'ok'}
end

-- claim(user, session, new_epoch, now, idle_ms, holder_parked, may_create, burst):
-- {'resumed', epoch, seq, went_online, rooms, pending leaves}, {'held'}, {'draining'} or
-- {'created', epoch, 0, 1, pending leaves}: a replaced idle holder's rooms are among them.
ops.claim = function()
  local user, session, now = argv[2], argv[3], num(5)
  local u = user_key(user)
  local h = redis.call('HMGET', u, 'session', 'epoch', 'seq', 'active', 'online')
  if h[1] then
    if h[1] == session then
      h[2] = current_epoch(user, argv[4])
      local went_online = seen_now(user, now, h[5])
      return {'resumed', h[2], h[3], went_online, redis.call('SMEMBERS', u .. ':rooms'),
              pending_leaves(user)}
    end
    if argv[7] == '1' or now - tonumber(h[4]) <= num(6) then return {'held'} end
    remove_user(user, now)
  end
  if argv[8] ~= '1' then return {'draining'} end
  redis.call('HSET', u, 'session', session, 'epoch', argv[4], 'seq', 0, 'consume', 0,
             'active', now, 'online', 1, 'tokens', argv[9], 'tokens_at', now,
             'fence', redis.call('GET', 'pfence') or '0')
  redis.call('ZADD', 'pactive', now, user)
  return {'created', argv[4], '0', 1, pending_leaves(user)}
end

-- user_remove(user, session or '', now, idle_ms or ''): removes the user (its own keys; its
-- rooms left on its side). With a session, only that session's hold; with idle_ms, only if
-- still idle that long (the sweep listed it earlier: it may have come back since).
-- {'removed' | 'missing' | 'denied' | 'active', pending leaves}
ops.user_remove = function()
  local user, session, now = argv[2], argv[3], num(4)
  local u = user_key(user)
  local h = redis.call('HMGET', u, 'session', 'active')
  if not h[1] then return {'missing', pending_leaves(user)} end
  if session ~= '' and h[1] ~= session then return {'denied', pending_leaves(user)} end
  if argv[5] ~= '' and now - tonumber(h[2]) <= num(5) then return {'active', {}} end
  remove_user(user, now)
  return {'removed', pending_leaves(user)}
end

-- member_add(user, room): the user's side of a membership (a leave of it still pending is
-- moot). Answers whether the user is online, and wakes the user's parked polls when the room
-- is new to it (they parked knowing their old rooms only).
ops.member_add = function()
  local user, room = argv[2], argv[3]
  local u = user_key(user)
  local online = redis.call('HGET', u, 'online')
  if not online then return {'missing'} end
  if redis.call('SREM', u .. ':leaving', room) == 1 and redis.call('EXISTS', u .. ':leaving') == 0 then
    redis.call('ZREM', 'pleaving', user)
  end
  redis.call('SADD', 'pl:' .. room, user)
  if redis.call('SADD', u .. ':rooms', room) == 1 then notify('u', user) end
  return {'ok', tonumber(online)}
end

-- member_leave(user, room, now, capacity, LEAVE line...): the user's side of a leave, first:
-- from now on no line of the room reaches the user, who gets the LEAVE line itself (its other
-- tabs learn of it); the room's side is then pending. {'missing'}, {'not_member'},
-- {'pending'} (left on this side already: finish the room's), or {'left', writes, event}.
ops.member_leave = function()
  local user, room, now = argv[2], argv[3], num(4)
  local u = user_key(user)
  if redis.call('EXISTS', u) == 0 then return {'missing'} end
  if redis.call('SISMEMBER', u .. ':rooms', room) == 0 then
    if redis.call('SISMEMBER', u .. ':leaving', room) == 1 then return {'pending'} end
    return {'not_member'}
  end
  leave_user_side(user, room, now)
  append(user, message_pairs(6), num(5))
  redis.call('INCR', 'pwrites')
  notify('u', user)
  return {'left', tonumber(redis.call('GET', 'pwrites')), tonumber(redis.call('GET', 'pev'))}
end

-- leaving_done(user, rooms...): the rooms' sides of these leaves are done.
ops.leaving_done = function()
  local key = user_key(argv[2]) .. ':leaving'
  for i = 3, #argv do redis.call('SREM', key, argv[i]) end
  if redis.call('EXISTS', key) == 0 then redis.call('ZREM', 'pleaving', argv[2]) end
  return {'ok'}
end

-- user_info(user, candidate_epoch): {'missing'} or {'ok', epoch, seq, rooms}
ops.user_info = function()
  local u = user_key(argv[2])
  local h = redis.call('HMGET', u, 'epoch', 'seq')
  if not h[1] then return {'missing'} end
  return {'ok', current_epoch(argv[2], argv[3]), h[2], redis.call('SMEMBERS', u .. ':rooms')}
end

-- room_join(room, user, online, events_max, log_max, JOIN line..., user's shard):
-- {joined 0/1, created 0/1, room seq of the line or 0, version, members, online, mode,
--  room epoch of the line, writes, event, member shards}
ops.room_join = function()
  local room, user = argv[2], argv[3]
  local r = room_key(room)
  local created = 0
  if redis.call('EXISTS', r) == 0 then
    created = 1
    local version = redis.call('INCR', 'pclock')
    redis.call('HSET', r, 'version', version, 'mode', 0, 'seq', 0, 'pub_version', version,
               'pub_members', 0, 'pub_online', 0, 'pub_mode', 0, 'pub_at', -1,
               'epoch', new_room_epoch(), 'fence', redis.call('GET', 'pfence') or '0',
               'tracked', 1)
    redis.call('SADD', 'prooms', room)
  end
  local n, epoch = 0, '0'
  local joined = redis.call('ZADD', r .. ':m', 'NX', 0, user)
  if joined == 1 then
    redis.call('HINCRBY', r .. ':shards', argv[14], 1)
    if argv[4] == '1' then redis.call('ZADD', r .. ':on', 0, user) end
    local mode = update_mode(room, num(5))
    presence_changed(room)
    -- The mode after the join: the member who makes a room large sends no line to all.
    if mode == 0 then n, epoch = sequence(room, message_pairs(7), num(6)) end
  end
  local p = live_presence(room)
  local writes, event = writes_and_event()
  return {joined, created, n, p[1], p[2], p[3], p[4], epoch, writes, event, member_shards(room)}
end

-- room_leave(room, user, events_max, log_max, is_lobby, LEAVE line..., user's shard):
-- {'not_member'} or {'left', room seq of the line or 0 (COUNTS: nobody's), its room epoch,
--  writes, event, member shards}
ops.room_leave = function()
  local room, user = argv[2], argv[3]
  local r = room_key(room)
  if not redis.call('ZSCORE', r .. ':m', user) then return {'not_member'} end
  local n, epoch = 0, '0'
  -- The mode before the leave: the lines a member saw in EVENTS mode end with this LEAVE.
  if tonumber(redis.call('HGET', r, 'mode')) == 0 then
    n, epoch = sequence(room, message_pairs(7), num(5))
  end
  redis.call('ZREM', r .. ':m', user)
  redis.call('ZREM', r .. ':on', user)
  if redis.call('EXISTS', r .. ':shards') == 1 then
    redis.call('HINCRBY', r .. ':shards', argv[14], -1)
  end
  update_mode(room, num(4))
  presence_changed(room)
  if redis.call('ZCARD', r .. ':m') == 0 and argv[6] ~= '1' then
    redis.call('DEL', r, r .. ':m', r .. ':on', r .. ':h', r .. ':log', r .. ':shards')
    redis.call('SREM', 'pdue', room)
    redis.call('SREM', 'prooms', room)
  end
  local writes, event = writes_and_event()
  return {'left', n, epoch, writes, event, member_shards(room)}
end

-- room_online(room, online 0/1, users...): sets who is online; one version bump if any changed.
ops.room_online = function()
  local room = argv[2]
  local r = room_key(room)
  if redis.call('EXISTS', r) == 0 then return {0} end
  local changed = 0
  for i = 4, #argv do
    if redis.call('ZSCORE', r .. ':m', argv[i]) then
      if argv[3] == '1' then
        changed = changed + redis.call('ZADD', r .. ':on', 0, argv[i])
      else
        changed = changed + redis.call('ZREM', r .. ':on', argv[i])
      end
    end
  end
  if changed > 0 then presence_changed(room) end
  return {changed}
end

-- rooms_presence(rooms...): for each, {exists, version, members, online, mode, pub_version}.
ops.rooms_presence = function()
  local out = {}
  for i = 2, #argv do
    if redis.call('EXISTS', room_key(argv[i])) == 1 then
      local p = live_presence(argv[i])
      out[#out + 1] = {1, p[1], p[2], p[3], p[4], p[5]}
    else
      out[#out + 1] = {0}
    end
  end
  return out
end

-- publish_check(sender, key or '', now, rate, burst, window_ms, message...): the sender
-- exists; a key already answered returns that answer ('dup'); a key another try holds returns
-- that try's message ('resume': this try delivers the same message, which the markers and the
-- room's 'again' make idempotent, so concurrent tries of one key give one message id); else
-- takes a token from the sender's bucket and holds the key with this message.
ops.publish_check = function()
  local sender, key, now, rate, burst = argv[2], argv[3], num(4), num(5), num(6)
  local u = user_key(sender)
  local h = redis.call('HMGET', u, 'tokens', 'tokens_at')
  if not h[1] then return {'missing'} end
  local k = 'pi:' .. sender .. ':' .. key
  if key ~= '' then
    num_now = now
    local held = redis.call('HMGET', k, 'until', 'state', 'm')
    if alive(held[1]) then
      if held[2] == 'pending' then return {'resume', {'m', held[3]}} end
      return {'dup', redis.call('HGETALL', k)}
    end
  end
  -- After the idempotency check: a retry of a stored message costs nothing.
  local tokens, at = tonumber(h[1]), tonumber(h[2])
  if now > at then
    tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
    at = now
  end
  if tokens < 1 then
    redis.call('HSET', u, 'tokens', tostring(tokens), 'tokens_at', at)
    return {'limited', tostring((1 - tokens) / rate * 1000)}
  end
  redis.call('HSET', u, 'tokens', tostring(tokens - 1), 'tokens_at', at)
  if key ~= '' then
    redis.call('HSET', k, 'state', 'pending', 'until', now + num(7), unpack(message_pairs(8)))
    redis.call('PEXPIRE', k, argv[7])
  end
  return {'ok'}
end

-- idem_record(sender, key, now, window_ms, recipients, message...): the first answer to a key.
ops.idem_record = function()
  local k = 'pi:' .. argv[2] .. ':' .. argv[3]
  local pairs_ = message_pairs(7)
  redis.call('HSET', k, 'state', 'done', 'n', argv[6], 'until', num(4) + num(5), unpack(pairs_))
  redis.call('PEXPIRE', k, argv[5])
  return {'ok'}
end

-- room_sequence(room, sender, key or '', now, window_ms, history, log_max, message...):
-- checks membership and gives the message its room seq, once per idempotency key and room
-- epoch. {'no_room'} {'not_member'} {'ok', n, epoch, writes, event, renumbered 0/1, member
-- shards} or {'again', n, {'m', message}, epoch, writes, event, member shards} (sequenced by an
-- earlier try)
ops.room_sequence = function()
  local room, sender, key = argv[2], argv[3], argv[4]
  local r = room_key(room)
  if redis.call('EXISTS', r) == 0 then return {'no_room'} end
  if not redis.call('ZSCORE', r .. ':m', sender) then return {'not_member'} end
  local ik = r .. ':i:' .. sender .. ':' .. key
  local renumbered = 0
  if key ~= '' then
    num_now = num(5)
    local earlier = redis.call('HMGET', ik, 'until', 'n', 'm', 'epoch')
    -- Sequenced in an epoch since ended: its line may be lost; numbered again below (and
    -- flagged, so a shard that has it already does not append it twice).
    if alive(earlier[1]) then
      if (earlier[4] or '0') == room_epoch(room) then
        local writes, event = writes_and_event()
        return {'again', earlier[2], {'m', earlier[3]}, earlier[4] or '0', writes, event,
                member_shards(room)}
      end
      renumbered = 1
    end
  end
  local pairs_ = message_pairs(9)
  local n, epoch = sequence(room, pairs_, num(8))
  if argv[9] == KIND_CHAT and num(7) > 0 then
    redis.call('XADD', r .. ':h', 'MAXLEN', '=', argv[7], '*', unpack(pairs_))
  end
  if key ~= '' then
    redis.call('HSET', ik, 'n', n, 'epoch', epoch, 'until', num(5) + num(6), unpack(pairs_))
    redis.call('PEXPIRE', ik, argv[6])
  end
  local writes, event = writes_and_event()
  return {'ok', n, epoch, writes, event, renumbered, member_shards(room)}
end

-- room_log(room, epoch, from_seq, to_seq): the room's lines in that range of that epoch (none
-- if the room is in another epoch now), for a shard catching up.
ops.room_log = function()
  local epoch = redis.call('HGET', room_key(argv[2]), 'epoch') or '0'
  if epoch ~= argv[3] then return {} end
  return redis.call('XRANGE', room_key(argv[2]) .. ':log', argv[4] .. '-0', argv[5] .. '-0')
end

-- deliver(room, capacity, epoch, lost_to, renumbered, count, then count × (n, message...)):
-- appends the
-- room's lines of that epoch, in room order, to the queue of every member living on this
-- shard, and tells brokers with the lines appended ('r', each packed message as
-- '<length>:<bytes>'): every member of the room on this shard got each of them as its next
-- seq. Lines of an earlier epoch than the shard has seen are dropped (the fence that ended it
-- showed the loss); a later epoch starts from its line 1. lost_to (or ''): the lines up to it
-- are gone from the room's log (this shard was too far behind): they are skipped, and every
-- member here gets a new epoch (its readers see the gap). {'ok', recipients of the last
-- line, writes, event} or {'behind', applied} when an earlier line has not been delivered
-- here yet, or {'reused', applied} when a line's number was applied here for another message:
-- the room's shard lost writes unnoticed (the caller fences it: fence_shard). The ids of the
-- last 64 lines applied are kept (pl:R:at, fields i<n mod 64>) to tell a retry from a reuse.
ops.deliver = function()
  local room, capacity, epoch, count = argv[2], num(3), argv[4], num(7)
  local members = redis.call('SMEMBERS', 'pl:' .. room)
  if #members == 0 then return {'ok', 0} end
  local at_key = 'pl:' .. room .. ':at'
  local at = redis.call('HMGET', at_key, 'epoch', 'n')
  local applied = nil
  if at[1] then
    if tonumber(epoch) < tonumber(at[1]) then return {'ok', #members, writes_and_event()} end
    applied = 0
    if at[1] == epoch then applied = tonumber(at[2]) end
  end
  local changed = false
  if argv[5] ~= '' and (applied == nil or applied < num(5)) then
    applied = num(5)
    changed = true
    for _, user in ipairs(members) do redis.call('HSET', user_key(user), 'fence', 'lost') end
    notify('f', room)  -- brokers forget what they mirror of this shard's users
  end
  local recipients = 0
  local lines, ids = {}, {}
  local function delivered()
    if changed then redis.call('HSET', at_key, 'epoch', epoch, 'n', applied, unpack(ids)) end
    if #lines > 0 then notify('r', room, table.concat(lines)) end
  end
  -- A line numbered again in a new epoch (its first numbering was lost) may have been
  -- appended here under the old one: then it is not appended twice.
  local function appended_before(message_id)
    if argv[6] ~= '1' then return false end
    for _, seen in ipairs(redis.call('HVALS', at_key)) do
      if string.match(seen, '^%d+:(.*)$') == message_id then return true end
    end
    return false
  end
  for line = 0, count - 1 do
    local at_arg = 8 + line * 8
    local n = tonumber(argv[at_arg])
    local slot, id = 'i' .. (n % 64), n .. ':' .. argv[at_arg + 2]
    if applied == nil or n == applied + 1 then
      if not appended_before(argv[at_arg + 2]) then
        local pairs_ = message_pairs(at_arg + 1)
        recipients = 0
        for _, user in ipairs(members) do
          if append(user, pairs_, capacity) then recipients = recipients + 1 end
        end
        if recipients > 0 then redis.call('INCRBY', 'pwrites', recipients) end
        lines[#lines + 1] = #pairs_[2] .. ':' .. pairs_[2]
      end
      ids[#ids + 1] = slot
      ids[#ids + 1] = id
      applied = n
      changed = true
    elseif n > applied + 1 then
      delivered()
      return {'behind', applied}
    else
      local seen = redis.call('HGET', at_key, slot)
      if seen and seen ~= id then
        delivered()
        return {'reused', applied}
      end
      recipients = #members  -- delivered before: a retry
    end
  end
  delivered()
  local writes, event = writes_and_event()
  return {'ok', recipients, writes, event}
end

-- fence_shard(): this shard lost writes no broker's count showed (deliver found a room's line
-- number given twice): every user's epoch, and every room's, changes when next used.
ops.fence_shard = function()
  redis.call('INCR', 'pfence')
  notify('f', 'shard')
  return {'ok'}
end

-- user_append(user, capacity, marker or '', now, window_ms, message...): one message to one
-- user's queue (a direct message, or a line for the user alone); a marker makes a retry
-- append nothing. {'missing'} or {'ok', seq}
ops.user_append = function()
  local user, marker = argv[2], argv[4]
  if marker ~= '' then
    num_now = num(5)
    if alive(redis.call('GET', marker)) then return {'ok', 0} end
  end
  local seq = append(user, message_pairs(7), num(3))
  if not seq then return {'missing'} end
  redis.call('INCR', 'pwrites')
  if marker ~= '' then redis.call('SET', marker, num(5) + num(6), 'PX', argv[6]) end
  notify('u', user)
  return {'ok', seq, tonumber(redis.call('GET', 'pwrites') or '0'),
          tonumber(redis.call('GET', 'pev') or '0')}
end

-- read(user, cursor, max, consume, epoch, now, candidate_epoch, want_rooms): the queue after
-- the cursor (ReadAfter), the user marked active and online; its rooms when needed.
-- {'missing'}, {'beyond', seq, epoch}, or
-- {'ok', epoch, epoch_changed, gap, missed, cursor, went_online, rooms, entries, seq, event}:
-- `seq` the queue's last, `event` the shard's last notification (a broker mirrors the queue
-- from there, QueueMirror).
ops.read = function()
  local user, cursor, max, consume, epoch, now = argv[2], num(3), num(4), argv[5] == '1', argv[6], num(7)
  local u = user_key(user)
  local h = redis.call('HMGET', u, 'epoch', 'seq', 'consume', 'online', 'fence')
  if not h[1] then return {'missing'} end
  h[1] = current_epoch(user, argv[8], {h[1], h[5]})
  local seq = tonumber(h[2])
  local went_online = seen_now(user, now, h[4])
  local epoch_changed = 0
  if epoch ~= '0' and epoch ~= h[1] then
    epoch_changed = 1
    cursor = 0
  elseif consume then
    cursor = tonumber(h[3])
  elseif cursor > seq then
    return {'beyond', seq, h[1]}
  end
  local len = redis.call('XLEN', u .. ':q')
  local first = seq + 1
  if len > 0 then first = seq - len + 1 end
  local start = cursor + 1
  local gap, missed = epoch_changed, 0
  if start < first then
    gap = 1
    missed = first - start
    start = first
  end
  local entries = {}
  if start <= seq then
    entries = redis.call('XRANGE', u .. ':q', start .. '-0', '+', 'COUNT', max)
  end
  local out_cursor = start - 1
  if #entries > 0 then
    out_cursor = tonumber(string.match(entries[#entries][1], '^(%d+)'))
  elseif gap == 0 then
    out_cursor = cursor
  end
  if consume and epoch_changed == 0 then redis.call('HSET', u, 'consume', out_cursor) end
  -- The rooms only for a read that may park (it found nothing), that marked the user online
  -- in them, or that watches their presence (want_rooms).
  local rooms = {}
  if (#entries == 0 and epoch_changed == 0) or went_online == 1 or argv[9] == '1' then
    rooms = redis.call('SMEMBERS', u .. ':rooms')
  end
  return {'ok', h[1], epoch_changed, gap, missed, out_cursor, went_online, rooms, entries, seq,
          tonumber(redis.call('GET', 'pev') or '0')}
end

-- read_many(n, then read's 8 arguments n times): n reads in one call, their answers in order.
-- The reads of the polls one notification wakes come together so.
ops.read_many = function()
  local all, n, answers = argv, tonumber(argv[2]), {}
  for i = 0, n - 1 do
    argv = {'read', unpack(all, 3 + i * 8, 10 + i * 8)}
    answers[i + 1] = ops.read()
  end
  argv = all
  return answers
end

-- rooms_of(user): {'missing'} or {'ok', rooms}
ops.rooms_of = function()
  local u = user_key(argv[2])
  if redis.call('EXISTS', u) == 0 then return {'missing'} end
  return {'ok', redis.call('SMEMBERS', u .. ':rooms')}
end

-- history(room, limit): {'no_room'} or {'ok', entries newest first}
ops.history = function()
  local r = room_key(argv[2])
  if redis.call('EXISTS', r) == 0 then return {'no_room'} end
  if argv[3] == '0' then return {'ok', redis.call('XREVRANGE', r .. ':h', '+', '-')} end
  return {'ok', redis.call('XREVRANGE', r .. ':h', '+', '-', 'COUNT', argv[3])}
end

-- members(room, limit, after, online_only, prefix): one page by name (RoomPresence::List).
-- {'no_room'} or {'ok', next_after, names, online flags, version, members, online, mode}
ops.members = function()
  local room, limit, after, online_only, prefix = argv[2], num(3), argv[4], argv[5] == '1', argv[6]
  local r = room_key(room)
  if redis.call('EXISTS', r) == 0 then return {'no_room'} end
  local set = r .. (online_only and ':on' or ':m')
  local from = '[' .. prefix
  if prefix == '' then from = '-' end
  if after ~= '' and after >= prefix then from = '(' .. after end
  local names = redis.call('ZRANGEBYLEX', set, from, '+', 'LIMIT', 0, limit + 1)
  local page, online, next_after = {}, {}, ''
  for _, name in ipairs(names) do
    if string.sub(name, 1, #prefix) ~= prefix then break end
    if #page == limit then
      next_after = page[#page]
      break
    end
    page[#page + 1] = name
    if online_only or redis.call('ZSCORE', r .. ':on', name) then
      online[#online + 1] = 1
    else
      online[#online + 1] = 0
    end
  end
  local p = live_presence(room)
  return {'ok', next_after, page, online, p[1], p[2], p[3], p[4]}
end

-- touch(user, time, user, time...): polls parked on a broker, and reads a broker answered from
-- its mirror, count as activity at that time.
ops.touch = function()
  for i = 2, #argv - 1, 2 do
    -- Every user is created with 'active': no value means no user (gone meanwhile).
    local active = redis.call('HGET', user_key(argv[i]), 'active')
    if active and num(i + 1) > tonumber(active) then touch(argv[i], num(i + 1)) end
  end
  return {'ok'}
end

-- sweep(now, presence_window_ms, idle_ms, grace_ms): users of this shard idle past idle_ms
-- (to expire), users gone quiet past the window, now marked offline, with their rooms, and
-- users with leaves pending for longer than grace_ms (their operation failed part-way; the
-- sweep finishes them), with those rooms.
-- {expired users, offline users, their rooms (one array each), leaving users, their rooms}
ops.sweep = function()
  local now, window, idle = num(2), num(3), num(4)
  local leaving, leaving_rooms = {}, {}
  for _, user in ipairs(redis.call('ZRANGEBYSCORE', 'pleaving', '-inf', now - num(5), 'LIMIT', 0, 1000)) do
    leaving[#leaving + 1] = user
    leaving_rooms[#leaving_rooms + 1] = pending_leaves(user)
  end
  local quiet = redis.call('ZRANGEBYSCORE', 'pactive', '-inf', '(' .. (now - window))
  local expired, offline, rooms = {}, {}, {}
  for _, user in ipairs(quiet) do
    local u = user_key(user)
    local h = redis.call('HMGET', u, 'active', 'online')
    if not h[1] then
      redis.call('ZREM', 'pactive', user)
    elseif now - tonumber(h[1]) > idle then
      expired[#expired + 1] = user
    elseif h[2] == '1' then
      redis.call('HSET', u, 'online', 0)
      notify('m', user)
      offline[#offline + 1] = user
      rooms[#rooms + 1] = redis.call('SMEMBERS', u .. ':rooms')
    end
  end
  return {expired, offline, rooms, leaving, leaving_rooms}
end

-- presence_due(now, notify_ms, wake_members): publishes the presence of each room changed
-- and last published long enough ago (longer in rooms over wake_members); answers how many.
ops.presence_due = function()
  local now, notify_ms, wake_members = num(2), num(3), num(4)
  local published = 0
  for _, room in ipairs(redis.call('SMEMBERS', 'pdue')) do
    local r = room_key(room)
    if redis.call('EXISTS', r) == 0 then
      redis.call('SREM', 'pdue', room)
    else
      local p = live_presence(room)
      local interval = notify_ms
      if p[2] > wake_members then interval = notify_ms * p[2] / wake_members end
      local at = tonumber(redis.call('HGET', r, 'pub_at'))
      if at < 0 or now - at >= interval then
        redis.call('HSET', r, 'pub_version', p[1], 'pub_members', p[2], 'pub_online', p[3],
                   'pub_mode', p[4], 'pub_at', now)
        redis.call('SREM', 'pdue', room)
        notify('p', room)
        published = published + 1
      end
    end
  end
  return {published}
end

-- shard_check(position, count): whether this shard is used with the same shard list by every
-- broker: the first broker to check writes '<position>/<count>' (pshard); a broker whose list
-- puts the shard elsewhere, or has another length, would hash keys to the wrong shards.
-- {'ok'} or {'mismatch', what the shard was first used as}
ops.shard_check = function()
  local mine = argv[2] .. '/' .. argv[3]
  local first = redis.call('GET', 'pshard')
  if not first then
    redis.call('SET', 'pshard', mine)
    return {'ok'}
  end
  if first ~= mine then return {'mismatch', first} end
  return {'ok'}
end

-- counts(): users and rooms on this shard.
ops.counts = function()
  return {redis.call('ZCARD', 'pactive'), redis.call('SCARD', 'prooms')}
end

-- ARGV[1] is "<operation>@<writes>": the most appends this shard has acknowledged to the
-- calling broker. Fewer here means this Redis lost writes (a restart that lost the tail of its
-- append-only file, a flush, a new instance): its queues' seqs could be given twice, so the
-- shard is fenced (every user's epoch changes when next read, see current_epoch) and counts
-- on from what the broker saw.
local name, seen = string.match(argv[1], '^([%w_]+)@(%d+)$')
if not name then name = argv[1] end
if seen and tonumber(seen) > tonumber(redis.call('GET', 'pwrites') or '0') then
  redis.call('INCR', 'pfence')
  redis.call('SET', 'pwrites', seen)
  notify('f', 'shard')  -- every user's epoch changes: brokers forget what they mirror
end
local op = ops[name]
if not op then return redis.error_reply('INTERNAL unknown operation ' .. tostring(name)) end
return op()
