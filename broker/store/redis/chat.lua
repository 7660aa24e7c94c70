-- Parley's chat state in Redis: one library, one operation per call. ARGV[1] names the
-- operation; every operation touches the keys of one shard only (the layout is in
-- docs/architecture.md, "The Redis store"), and gets what it must decide by as arguments
-- (now, capacities, windows, thresholds), so the rules' numbers come from the broker; rules
-- that need no atomicity with this state are the broker's (broker/core/chat_rules.h).
-- Every answer is `answer(outcome, name, value, ...)`: what happened, then named fields, which
-- the broker reads by name (chat_replies.h gives each operation its typed reply). An unexpected
-- state is an error reply "INTERNAL ...". Times are milliseconds; a message is 7 values in the
-- order kind, id, room (a direct message: who held the names, stored_message.h), from, to,
-- text, sent_at (microseconds), stored packed (message_pairs).

-- Every key and channel the store uses, named here only (the C++ store names none; it takes
-- the channel from this line at build time: keep it one line).
local NOTIFY_CHANNEL = 'parley:notify'
local key = {
  user = function(u) return 'pu:' .. u end,                 -- hash: the user
  queue = function(u) return 'pu:' .. u .. ':q' end,        -- stream: its queue, ids <seq>-0
  user_rooms = function(u) return 'pu:' .. u .. ':rooms' end,
  user_leaving = function(u) return 'pu:' .. u .. ':leaving' end,  -- leaves pending
  user_left = function(u) return 'pu:' .. u .. ':left' end,  -- rooms left lately: until when
  idempotency = function(sender, k) return 'pi:' .. sender .. ':' .. k end,
  dm_marker = function(owner, sender, k) return 'pd:' .. owner .. ':' .. sender .. ':' .. k end,
  ended = function(session) return 'pe:' .. session end,
  room = function(r) return 'pr:' .. r end,                  -- hash: the room
  members = function(r) return 'pr:' .. r .. ':m' end,
  online = function(r) return 'pr:' .. r .. ':on' end,
  history = function(r) return 'pr:' .. r .. ':h' end,
  room_log = function(r) return 'pr:' .. r .. ':log' end,
  room_shards = function(r) return 'pr:' .. r .. ':shards' end,
  room_idempotency = function(r, sender, k) return 'pr:' .. r .. ':i:' .. sender .. ':' .. k end,
  access = function(r) return 'pr:' .. r .. ':acl' end,      -- a private room's access list
  allowed = function(u) return 'pa:' .. u end,              -- kept rooms the user may enter
  revoked = function(u) return 'pv:' .. u end,              -- DisconnectUser: when (ms)
  held = function(u) return 'ph:' .. u end,                 -- stream: DMs kept while away
  held_for = function(u) return 'ph:' .. u .. ':for' end,   -- hash: their session, until
  local_members = function(r) return 'pl:' .. r end,        -- the room's members on this shard
  local_applied = function(r) return 'pl:' .. r .. ':at' end,
  -- This shard's own.
  active = 'pactive', leaving = 'pleaving', rooms = 'prooms', due = 'pdue', clock = 'pclock',
  events = 'pev', writes = 'pwrites', fence = 'pfence', fence_at = 'pfence_at', shard = 'pshard',
}

local KIND_CHAT = '0'
local KIND_SYSTEM = '4'
local argv = ARGV

local function num(i) return tonumber(argv[i]) end
local num_now = 0

-- What happened, then name/value pairs. A missing value is this script's bug: said, not sent
-- as a shorter array the broker would misread.
local function answer(outcome, ...)
  local n = select('#', ...)
  local fields = {...}
  for i = 2, n, 2 do
    if fields[i] == nil then
      return redis.error_reply('INTERNAL chat.lua answered ' .. outcome .. ' without ' ..
                               tostring(fields[i - 1]))
    end
  end
  local out = {outcome}
  for i = 1, n do out[i + 1] = fields[i] end
  return out
end

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

-- Who holds a name (HolderTag in broker/core/holder_tag.h): 16 hex digits of the SHA-1 of the
-- session, so the session itself is never answered.
local function holder_of(session) return string.sub(redis.sha1hex(session), 1, 16) end

-- Tells every broker: '<kind>:<name> <Redis time in microseconds> <event>[\n<body>]'. The time
-- is for the wake-lag metric; events are numbered by shard (key.events), so a broker knows
-- which came after a read (which answers the number it saw) and that it missed none
-- (QueueMirror).
local function notify(kind, name, body)
  local t = redis.call('TIME')
  local event = redis.call('INCR', key.events)
  local payload = kind .. ':' .. name .. ' ' .. t[1] .. string.format('%06d', t[2]) .. ' ' .. event
  if body then payload = payload .. '\n' .. body end
  redis.call('PUBLISH', NOTIFY_CHANNEL, payload)
end

-- Appends a message (XADD field/value pairs) to the user's queue; its seq, or false if the
-- user does not exist. The caller counts it in key.writes in the same script (lost with the
-- append, or kept with it).
local function append(user, pairs_, capacity)
  local u = key.user(user)
  if redis.call('EXISTS', u) == 0 then return false end
  local seq = redis.call('HINCRBY', u, 'seq', 1)
  redis.call('XADD', key.queue(user), 'MAXLEN', '=', capacity, seq .. '-0', unpack(pairs_))
  return seq
end

-- The room's live presence as answer fields, with the snapshot last published.
local function presence_fields(room)
  local h = redis.call('HMGET', key.room(room), 'version', 'mode', 'pub_version')
  return 'version', tonumber(h[1]), 'members', redis.call('ZCARD', key.members(room)),
         'online', redis.call('ZCARD', key.online(room)), 'mode', tonumber(h[2]),
         'published_version', tonumber(h[3])
end

-- Bumps the room's presence version and marks it unpublished.
local function presence_changed(room)
  local version = redis.call('INCR', key.clock)
  redis.call('HSET', key.room(room), 'version', version)
  redis.call('SADD', key.due, room)
  return version
end

-- The presence mode after a change of member count (RoomPresence::UpdateMode): EVENTS (0)
-- until the room grows past events_max, then COUNTS (1) until it shrinks to 3/4 of that.
local function update_mode(room, events_max)
  local r = key.room(room)
  local mode = tonumber(redis.call('HGET', r, 'mode'))
  local members = redis.call('ZCARD', key.members(room))
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
  local r = key.room(room)
  local h = redis.call('HMGET', r, 'epoch', 'fence')
  local fence = redis.call('GET', key.fence) or '0'
  if (h[2] or '0') == fence then return h[1] or '0' end
  local epoch = new_room_epoch()
  redis.call('HSET', r, 'epoch', epoch, 'fence', fence, 'seq', 0)
  redis.call('DEL', key.room_log(room))
  return epoch
end

-- Gives the room's next line its room seq and logs it for shards catching up; counted as a
-- write (a shard that loses it is fenced, and the room's epoch changes). Answers seq, epoch.
local function sequence(room, pairs_, log_max)
  local epoch = room_epoch(room)
  local n = redis.call('HINCRBY', key.room(room), 'seq', 1)
  redis.call('XADD', key.room_log(room), 'MAXLEN', '~', log_max, n .. '-0', unpack(pairs_))
  redis.call('INCR', key.writes)
  return n, epoch
end

-- The shards with members of the room (key.room_shards: shard -> members there), which its
-- lines are delivered to; {} for a room from before that count was kept: every shard.
local function member_shards(room)
  if redis.call('HGET', key.room(room), 'tracked') ~= '1' then return {} end
  local out = {}
  local counts = redis.call('HGETALL', key.room_shards(room))
  for i = 1, #counts, 2 do
    if tonumber(counts[i + 1]) > 0 then out[#out + 1] = counts[i] end
  end
  return out
end

-- The shard's write count and last notification as answer fields, for the broker (its loss
-- fence and mirror).
local function writes_fields()
  return 'writes', tonumber(redis.call('GET', key.writes) or '0'),
         'event', tonumber(redis.call('GET', key.events) or '0')
end

-- The user's epoch as clients should see it: a fence on this shard (it lost writes) since the
-- epoch was given means the queue's seqs may be given again, so the user gets `candidate`.
-- `known`: the user's epoch and fence when the caller has them (one HMGET fewer).
local function current_epoch(user, candidate, known)
  local u = key.user(user)
  local h = known or redis.call('HMGET', u, 'epoch', 'fence')
  local fence = redis.call('GET', key.fence) or '0'
  if (h[2] or '0') ~= fence then
    redis.call('HSET', u, 'epoch', candidate, 'fence', fence)
    return candidate
  end
  return h[1]
end

local function touch(user, now)
  redis.call('HSET', key.user(user), 'active', now)
  redis.call('ZADD', key.active, now, user)
end

-- A Connect or a read: the user is active now, and online; answers 1 if it was not online.
local function seen_now(user, now, online)
  touch(user, now)
  if online == '1' then return 0 end
  redis.call('HSET', key.user(user), 'online', 1)
  return 1
end

-- The user's side of leaving `room` (its rooms, the shard's member list of the room), and the
-- intent to finish the room's side (key.user_leaving, found through key.leaving): whoever
-- touches the user next finishes it (leaving_done after the room's side), so a leave never
-- stays half done.
local function leave_user_side(user, room, now)
  redis.call('SREM', key.user_rooms(user), room)
  redis.call('SREM', key.local_members(room), user)
  if redis.call('SCARD', key.local_members(room)) == 0 then
    redis.call('DEL', key.local_applied(room))
  end
  redis.call('SADD', key.user_leaving(user), room)
  redis.call('ZADD', key.leaving, now, user)
end

-- Rooms whose side of a leave by the user is still to be done.
local function pending_leaves(user) return redis.call('SMEMBERS', key.user_leaving(user)) end

-- This shard lost writes: every user's epoch, and every room's, changes when next used
-- (current_epoch, room_epoch), and sessions begun before now may have lost their logout
-- (ended_check). Brokers forget what they mirror of it.
local function fence()
  local t = redis.call('TIME')
  redis.call('INCR', key.fence)
  redis.call('SET', key.fence_at, t[1] * 1000 + math.floor(t[2] / 1000))
  notify('f', 'shard')
end

-- Removes the user's own keys, its rooms left on its side first (their sides pending).
local function remove_user(user, now)
  for _, room in ipairs(redis.call('SMEMBERS', key.user_rooms(user))) do
    leave_user_side(user, room, now)
  end
  redis.call('DEL', key.user(user), key.queue(user), key.user_rooms(user), key.user_left(user))
  redis.call('ZREM', key.active, user)
  notify('u', user)
end

-- Whether `user` may enter and read the room: anyone, unless it is private and the user is
-- not on its access list ('' is the trusted server API).
local function admits(room, user)
  if user == '' or redis.call('HGET', key.room(room), 'private') ~= '1' then return true end
  return redis.call('SISMEMBER', key.access(room), user) == 1
end

-- A new room's hash, counted among this shard's rooms.
local function create_room(room)
  local version = redis.call('INCR', key.clock)
  redis.call('HSET', key.room(room), 'version', version, 'mode', 0, 'seq', 0,
             'pub_version', version, 'pub_members', 0, 'pub_online', 0, 'pub_mode', 0,
             'pub_at', -1, 'epoch', new_room_epoch(),
             'fence', redis.call('GET', key.fence) or '0', 'tracked', 1)
  redis.call('SADD', key.rooms, room)
end

local ops = {}

-- Keys that expire (logged-out sessions, idempotency answers, markers) hold the time they
-- end; that time decides, and their TTL only collects them once it is past.
local function alive(until_) return until_ and tonumber(until_) > num_now end

-- ended_check(session, now, started_ms): 'ended' if the session was logged out (and not yet
-- forgotten); 'lost' if this shard lost writes since the session began (0: unknown, before
-- any loss): its logout may have been among them; else 'open'.
ops.ended_check = function()
  num_now = num(3)
  if alive(redis.call('GET', key.ended(argv[2]))) then return answer('ended') end
  local fenced_at = redis.call('GET', key.fence_at)
  if fenced_at and tonumber(fenced_at) >= num(4) then return answer('lost') end
  return answer('open')
end

-- ended_record(session, now, memory_ms): 'ok' {writes, event}. Counted as a write: a shard
-- that loses it is fenced, and the sessions begun before are refused (ended_check).
ops.ended_record = function()
  redis.call('SET', key.ended(argv[2]), num(3) + num(4), 'PX', argv[4])
  redis.call('INCR', key.writes)
  return answer('ok', writes_fields())
end

-- claim(user, session, new_epoch, now, may_create, burst, replace_session, replace_active,
-- started_ms, capacity): 'revoked' if DisconnectUser ended the user's sessions after
-- started_ms; 'resumed' {epoch, seq, went_online, rooms, pending, admit}; 'created' {epoch,
-- pending, admit}, its queue starting with the direct messages kept for the session;
-- `admit`: the kept rooms the user may enter, for a new user to join, until `admitted` says
-- it has (a Connect that failed before then joins them at its retry, which resumes);
-- 'held' {holder, active}: another session holds the name (the broker decides whether it
-- keeps it, HolderKeepsName, and may claim again naming it: then, if it is still that holder
-- at that activity, it is replaced, its rooms among `pending`); or 'draining'.
ops.claim = function()
  local user, session, now = argv[2], argv[3], num(5)
  local revoked = redis.call('HMGET', key.revoked(user), 'since', 'until')
  num_now = now
  if alive(revoked[2]) and num(10) < tonumber(revoked[1]) then return answer('revoked') end
  local u = key.user(user)
  local h = redis.call('HMGET', u, 'session', 'epoch', 'seq', 'active', 'online', 'admitting')
  if h[1] then
    if h[1] == session then
      local epoch = current_epoch(user, argv[4])
      local went_online = seen_now(user, now, h[5])
      local admit = {}
      if h[6] then admit = redis.call('SMEMBERS', key.allowed(user)) end
      return answer('resumed', 'epoch', epoch, 'seq', h[3], 'went_online', went_online,
                    'rooms', redis.call('SMEMBERS', key.user_rooms(user)),
                    'pending', pending_leaves(user), 'admit', admit)
    end
    if h[1] ~= argv[8] or h[4] ~= argv[9] then
      return answer('held', 'holder', h[1], 'active', h[4])
    end
    remove_user(user, now)
  end
  if argv[6] ~= '1' then return answer('draining') end
  redis.call('HSET', u, 'session', session, 'epoch', argv[4], 'seq', 0, 'consume', 0,
             'active', now, 'online', 1, 'tokens', argv[7], 'tokens_at', now,
             'fence', redis.call('GET', key.fence) or '0')
  -- Direct messages kept for this session while it was away come first in its queue.
  local held_for = redis.call('HMGET', key.held_for(user), 'session', 'until')
  if held_for[1] == session and alive(held_for[2]) then
    for _, entry in ipairs(redis.call('XRANGE', key.held(user), '-', '+')) do
      append(user, entry[2], num(11))
    end
    redis.call('DEL', key.held(user), key.held_for(user))
    notify('u', user)
  end
  redis.call('ZADD', key.active, now, user)
  local admit = redis.call('SMEMBERS', key.allowed(user))
  if #admit > 0 then redis.call('HSET', u, 'admitting', 1) end
  return answer('created', 'epoch', argv[4], 'pending', pending_leaves(user), 'admit', admit)
end

-- admitted(user, session): the new user has joined the kept rooms `claim` listed. 'ok'
ops.admitted = function()
  if redis.call('HGET', key.user(argv[2]), 'session') == argv[3] then
    redis.call('HDEL', key.user(argv[2]), 'admitting')
  end
  return answer('ok')
end

-- user_remove(user, session or '', now, idle_ms or ''): removes the user (its own keys; its
-- rooms left on its side). With a session, only that session's hold; with idle_ms, only if
-- still idle that long (the sweep listed it earlier: it may have come back since).
-- 'removed' | 'missing' | 'denied' {pending}, or 'active'
ops.user_remove = function()
  local user, session, now = argv[2], argv[3], num(4)
  local h = redis.call('HMGET', key.user(user), 'session', 'active')
  if not h[1] then return answer('missing', 'pending', pending_leaves(user)) end
  if session ~= '' and h[1] ~= session then
    return answer('denied', 'pending', pending_leaves(user))
  end
  if argv[5] ~= '' and now - tonumber(h[2]) <= num(5) then return answer('active') end
  remove_user(user, now)
  return answer('removed', 'pending', pending_leaves(user))
end

-- member_add(user, room): the user's side of a membership (a leave of it still pending is
-- moot). 'missing' or 'ok' {online}; wakes the user's parked polls when the room is new to it
-- (they parked knowing their old rooms only).
ops.member_add = function()
  local user, room = argv[2], argv[3]
  local online = redis.call('HGET', key.user(user), 'online')
  if not online then return answer('missing') end
  local leaving = key.user_leaving(user)
  if redis.call('SREM', leaving, room) == 1 and redis.call('EXISTS', leaving) == 0 then
    redis.call('ZREM', key.leaving, user)
  end
  redis.call('HDEL', key.user_left(user), room)
  redis.call('SADD', key.local_members(room), user)
  if redis.call('SADD', key.user_rooms(user), room) == 1 then notify('u', user) end
  return answer('ok', 'online', tonumber(online))
end

-- member_leave(user, room, now, capacity, LEAVE line..., window_ms): the user's side of a
-- leave, first: from now on no line of the room reaches the user, who gets the LEAVE line
-- itself (its other tabs learn of it); the room's side is then pending. The leave is
-- remembered for window_ms, so a retry whose first try finished after its answer was lost is
-- answered as done, not "not a member". 'missing', 'not_member', 'pending' (left on this side
-- already: finish the room's), 'done' (left lately), or 'left' {writes, event}.
ops.member_leave = function()
  local user, room, now = argv[2], argv[3], num(4)
  if redis.call('EXISTS', key.user(user)) == 0 then return answer('missing') end
  if redis.call('SISMEMBER', key.user_rooms(user), room) == 0 then
    if redis.call('SISMEMBER', key.user_leaving(user), room) == 1 then
      return answer('pending')
    end
    num_now = now
    if alive(redis.call('HGET', key.user_left(user), room)) then return answer('done') end
    return answer('not_member')
  end
  leave_user_side(user, room, now)
  redis.call('HSET', key.user_left(user), room, now + num(13))
  redis.call('PEXPIRE', key.user_left(user), argv[13])
  append(user, message_pairs(6), num(5))
  redis.call('INCR', key.writes)
  notify('u', user)
  return answer('left', writes_fields())
end

-- leaving_done(user, rooms...): the rooms' sides of these leaves are done. 'ok'
ops.leaving_done = function()
  local leaving = key.user_leaving(argv[2])
  for i = 3, #argv do redis.call('SREM', leaving, argv[i]) end
  if redis.call('EXISTS', leaving) == 0 then redis.call('ZREM', key.leaving, argv[2]) end
  return answer('ok')
end

-- user_info(user, candidate_epoch): 'missing' or 'ok' {epoch, seq, rooms}
ops.user_info = function()
  local user = argv[2]
  local h = redis.call('HMGET', key.user(user), 'epoch', 'seq')
  if not h[1] then return answer('missing') end
  return answer('ok', 'epoch', current_epoch(user, argv[3]), 'seq', h[2],
                'rooms', redis.call('SMEMBERS', key.user_rooms(user)))
end

-- room_join(room, user, online, events_max, log_max, JOIN line..., user's shard):
-- 'joined' {created, n (room seq of the line, or 0: a large room sends none), epoch (of the
-- line), the presence, writes, event, shards (with members)} or 'member' {the presence}
ops.room_join = function()
  local room, user = argv[2], argv[3]
  local r = key.room(room)
  local created = 0
  if redis.call('EXISTS', r) == 0 then
    created = 1
    create_room(room)
  end
  if redis.call('ZADD', key.members(room), 'NX', 0, user) == 0 then
    return answer('member', presence_fields(room))
  end
  redis.call('HINCRBY', key.room_shards(room), argv[14], 1)
  if argv[4] == '1' then redis.call('ZADD', key.online(room), 0, user) end
  local mode = update_mode(room, num(5))
  presence_changed(room)
  -- The mode after the join: the member who makes a room large sends no line to all.
  local n, epoch = 0, '0'
  if mode == 0 then n, epoch = sequence(room, message_pairs(7), num(6)) end
  local version, v, members, m, online, o, mode_, md = presence_fields(room)
  local writes, w, event, e = writes_fields()
  return answer('joined', 'created', created, 'n', n, 'epoch', epoch, version, v, members, m,
                online, o, mode_, md, writes, w, event, e, 'shards', member_shards(room))
end

-- room_leave(room, user, events_max, log_max, is_lobby, LEAVE line..., user's shard):
-- 'not_member' or 'left' {n (room seq of the line, or 0: COUNTS, nobody's), epoch, writes,
-- event, shards}
ops.room_leave = function()
  local room, user = argv[2], argv[3]
  local r = key.room(room)
  if not redis.call('ZSCORE', key.members(room), user) then return answer('not_member') end
  local n, epoch = 0, '0'
  -- The mode before the leave: the lines a member saw in EVENTS mode end with this LEAVE.
  if tonumber(redis.call('HGET', r, 'mode')) == 0 then
    n, epoch = sequence(room, message_pairs(7), num(5))
  end
  redis.call('ZREM', key.members(room), user)
  redis.call('ZREM', key.online(room), user)
  if redis.call('EXISTS', key.room_shards(room)) == 1 then
    redis.call('HINCRBY', key.room_shards(room), argv[14], -1)
  end
  update_mode(room, num(4))
  presence_changed(room)
  if redis.call('ZCARD', key.members(room)) == 0 and argv[6] ~= '1' and
      redis.call('HGET', r, 'kept') ~= '1' then
    redis.call('DEL', r, key.members(room), key.online(room), key.history(room),
               key.room_log(room), key.room_shards(room))
    redis.call('SREM', key.due, room)
    redis.call('SREM', key.rooms, room)
  end
  local writes, w, event, e = writes_fields()
  return answer('left', 'n', n, 'epoch', epoch, writes, w, event, e,
                'shards', member_shards(room))
end

-- room_online(room, online 0/1, users...): sets who is online; one version bump if any
-- changed. 'ok' {changed}
ops.room_online = function()
  local room = argv[2]
  if redis.call('EXISTS', key.room(room)) == 0 then return answer('ok', 'changed', 0) end
  local changed = 0
  for i = 4, #argv do
    if redis.call('ZSCORE', key.members(room), argv[i]) then
      if argv[3] == '1' then
        changed = changed + redis.call('ZADD', key.online(room), 0, argv[i])
      else
        changed = changed + redis.call('ZREM', key.online(room), argv[i])
      end
    end
  end
  if changed > 0 then presence_changed(room) end
  return answer('ok', 'changed', changed)
end

-- rooms_presence(rooms...): 'ok' {rooms: for each, 'live' {the presence} or 'gone'}
ops.rooms_presence = function()
  local out = {}
  for i = 2, #argv do
    if redis.call('EXISTS', key.room(argv[i])) == 1 then
      out[#out + 1] = answer('live', presence_fields(argv[i]))
    else
      out[#out + 1] = answer('gone')
    end
  end
  return answer('ok', 'rooms', out)
end

-- publish_check(sender, key or '', now, rate, burst, window_ms, message..., system,
-- sender_session or ''): the sender exists (held by sender_session, if given); a key already
-- answered returns that answer ('dup'); a key another try holds returns that try's message
-- ('resume': this try delivers the same message, which the markers and the room's 'again' make
-- idempotent, so concurrent tries of one key give one message id); else takes a token from
-- the sender's bucket and holds the key with this message. 'missing', 'not_holder',
-- 'dup' {message, recipients}, 'resume' {message}, 'limited' {wait_ms} or 'ok'
ops.publish_check = function()
  local sender, k, now, rate, burst = argv[2], argv[3], num(4), num(5), num(6)
  local system, sender_session = argv[15] == '1', argv[16] or ''
  local u = key.user(sender)
  local h = redis.call('HMGET', u, 'tokens', 'tokens_at', 'session')
  if not h[1] and not system then return answer('missing') end
  if sender_session ~= '' and h[3] ~= sender_session then return answer('not_holder') end
  local held_key = key.idempotency(sender, k)
  if k ~= '' then
    num_now = now
    local held = redis.call('HMGET', held_key, 'until', 'state', 'm', 'n')
    if alive(held[1]) then
      if held[2] == 'pending' then return answer('resume', 'message', {'m', held[3]}) end
      return answer('dup', 'message', {'m', held[3]}, 'recipients', held[4])
    end
  end
  -- After the idempotency check: a retry of a stored message costs nothing. A system
  -- sender (the server API) is not rate limited.
  if system then
    if k ~= '' then
      redis.call('HSET', held_key, 'state', 'pending', 'until', now + num(7),
                 unpack(message_pairs(8)))
      redis.call('PEXPIRE', held_key, argv[7])
    end
    return answer('ok')
  end
  local tokens, at = tonumber(h[1]), tonumber(h[2])
  if now > at then
    tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
    at = now
  end
  if tokens < 1 then
    redis.call('HSET', u, 'tokens', tostring(tokens), 'tokens_at', at)
    return answer('limited', 'wait_ms', tostring((1 - tokens) / rate * 1000))
  end
  redis.call('HSET', u, 'tokens', tostring(tokens - 1), 'tokens_at', at)
  if k ~= '' then
    redis.call('HSET', held_key, 'state', 'pending', 'until', now + num(7), unpack(message_pairs(8)))
    redis.call('PEXPIRE', held_key, argv[7])
  end
  return answer('ok')
end

-- idem_record(sender, key, now, window_ms, recipients, message...): the first answer to a
-- key. 'ok'
ops.idem_record = function()
  local held_key = key.idempotency(argv[2], argv[3])
  redis.call('HSET', held_key, 'state', 'done', 'n', argv[6], 'until', num(4) + num(5),
             unpack(message_pairs(7)))
  redis.call('PEXPIRE', held_key, argv[5])
  return answer('ok')
end

-- room_sequence(room, sender, key or '', now, window_ms, history, log_max, message..., system):
-- checks membership (not for a system sender; a private room the sender may not enter is
-- 'no_room') and gives the message its room seq, once per idempotency key and room
-- epoch. 'no_room', 'not_member', 'ok' {n, epoch, writes, event, renumbered, shards} or
-- 'again' {n, epoch, message, writes, event, shards} (sequenced by an earlier try)
ops.room_sequence = function()
  local room, sender, k = argv[2], argv[3], argv[4]
  if redis.call('EXISTS', key.room(room)) == 0 then return answer('no_room') end
  if argv[16] ~= '1' and not redis.call('ZSCORE', key.members(room), sender) then
    if not admits(room, sender) then return answer('no_room') end
    return answer('not_member')
  end
  local ik = key.room_idempotency(room, sender, k)
  local renumbered = 0
  if k ~= '' then
    num_now = num(5)
    local earlier = redis.call('HMGET', ik, 'until', 'n', 'm', 'epoch')
    -- Sequenced in an epoch since ended: its line may be lost; numbered again below (and
    -- flagged, so a shard that has it already does not append it twice).
    if alive(earlier[1]) then
      if (earlier[4] or '0') == room_epoch(room) then
        local writes, w, event, e = writes_fields()
        return answer('again', 'n', earlier[2], 'epoch', earlier[4] or '0',
                      'message', {'m', earlier[3]}, writes, w, event, e,
                      'shards', member_shards(room))
      end
      renumbered = 1
    end
  end
  local pairs_ = message_pairs(9)
  local n, epoch = sequence(room, pairs_, num(8))
  if (argv[9] == KIND_CHAT or argv[9] == KIND_SYSTEM) and num(7) > 0 then
    redis.call('XADD', key.history(room), 'MAXLEN', '=', argv[7], '*', unpack(pairs_))
  end
  if k ~= '' then
    redis.call('HSET', ik, 'n', n, 'epoch', epoch, 'until', num(5) + num(6), unpack(pairs_))
    redis.call('PEXPIRE', ik, argv[6])
  end
  local writes, w, event, e = writes_fields()
  return answer('ok', 'n', n, 'epoch', epoch, writes, w, event, e, 'renumbered', renumbered,
                'shards', member_shards(room))
end

-- room_log(room, epoch, from_seq, to_seq): the room's lines in that range of that epoch (none
-- if the room is in another epoch now), for a shard catching up. 'ok' {lines}
ops.room_log = function()
  local epoch = redis.call('HGET', key.room(argv[2]), 'epoch') or '0'
  if epoch ~= argv[3] then return answer('ok', 'lines', {}) end
  return answer('ok', 'lines',
                redis.call('XRANGE', key.room_log(argv[2]), argv[4] .. '-0', argv[5] .. '-0'))
end

-- deliver(room, capacity, epoch, lost_to, renumbered, count, then count × (n, message...)):
-- appends the room's lines of that epoch, in room order, to the queue of every member living
-- on this shard, and tells brokers with the lines appended ('r', each packed message as
-- '<length>:<bytes>'): every member of the room on this shard got each of them as its next
-- seq. Lines of an earlier epoch than the shard has seen are dropped (the fence that ended it
-- showed the loss); a later epoch starts from its line 1. lost_to (or ''): the lines up to it
-- are gone from the room's log (this shard was too far behind): they are skipped, and every
-- member here gets a new epoch (its readers see the gap). 'ok' {recipients (of the last line),
-- writes, event}, 'behind' {applied} when an earlier line has not been delivered here yet, or
-- 'reused' {applied} when a line's number was applied here for another message: the room's
-- shard lost writes unnoticed (the caller fences it: fence_shard). The ids of the last 64
-- lines applied are kept (key.local_applied, fields i<n mod 64>) to tell a retry from a reuse.
ops.deliver = function()
  local room, capacity, epoch, count = argv[2], num(3), argv[4], num(7)
  local members = redis.call('SMEMBERS', key.local_members(room))
  if #members == 0 then return answer('ok', 'recipients', 0, writes_fields()) end
  local at_key = key.local_applied(room)
  local at = redis.call('HMGET', at_key, 'epoch', 'n')
  local applied = nil
  if at[1] then
    if tonumber(epoch) < tonumber(at[1]) then
      return answer('ok', 'recipients', #members, writes_fields())
    end
    applied = 0
    if at[1] == epoch then applied = tonumber(at[2]) end
  end
  local changed = false
  if argv[5] ~= '' and (applied == nil or applied < num(5)) then
    applied = num(5)
    changed = true
    for _, user in ipairs(members) do redis.call('HSET', key.user(user), 'fence', 'lost') end
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
        if recipients > 0 then redis.call('INCRBY', key.writes, recipients) end
        lines[#lines + 1] = #pairs_[2] .. ':' .. pairs_[2]
      end
      ids[#ids + 1] = slot
      ids[#ids + 1] = id
      applied = n
      changed = true
    elseif n > applied + 1 then
      delivered()
      return answer('behind', 'applied', applied)
    else
      local seen = redis.call('HGET', at_key, slot)
      if seen and seen ~= id then
        delivered()
        return answer('reused', 'applied', applied)
      end
      recipients = #members  -- delivered before: a retry
    end
  end
  delivered()
  return answer('ok', 'recipients', recipients, writes_fields())
end

-- fence_shard(): this shard lost writes no broker's count showed (deliver found a room's line
-- number given twice): every user's epoch, and every room's, changes when next used. 'ok'
ops.fence_shard = function()
  fence()
  return answer('ok')
end

-- user_append(user, capacity, sender, key or '', now, window_ms, message..., hold_for or '',
-- ttl_ms, to_holder or '', stamp): one message to one user's queue (a direct message, or a
-- line for the user alone); with a key, a marker makes a retry append nothing. A user not
-- connected is 'missing', or with hold_for, the message is kept for that session (`claim`
-- moves it into the queue it creates for it): 'held' {holder, writes, event}. With
-- to_holder, a name held by another is 'other_holder'. With stamp '1' (a direct message's
-- recipient copy) the stored message says who it went to: its room slot, the sender's
-- holder, becomes '<from_holder>><holder>' (stored_message.h), and `holder` is answered
-- ('' otherwise). 'ok' {holder, writes, event},
-- or 'again' {held} (the marker's: an earlier try appended or kept it)
ops.user_append = function()
  local user, k, hold_for, to_holder = argv[2], argv[5], argv[15] or '', argv[17] or ''
  local marker = k ~= '' and key.dm_marker(user, argv[4], k) or nil
  num_now = num(6)
  if marker then
    -- The marker is the time it lasts until, plus a half when the message was kept.
    local was = redis.call('GET', marker)
    if alive(was) then return answer('again', 'held', tonumber(was) % 1 ~= 0 and 1 or 0) end
  end
  local session = redis.call('HGET', key.user(user), 'session')
  if not session and hold_for == '' then return answer('missing') end
  -- Only a direct message's recipient copy needs it (a hash per append otherwise wasted on the
  -- sender's copy and on a large room's own JOIN/LEAVE lines).
  local stamp = argv[18] == '1'
  local holder = ''
  if stamp or to_holder ~= '' then holder = holder_of(session or hold_for) end
  if to_holder ~= '' and to_holder ~= holder then return answer('other_holder') end
  if stamp then argv[10] = argv[10] .. '>' .. holder end
  local held = false
  if not append(user, message_pairs(8), num(3)) then
    -- Kept for the session named (PublishInput::hold_for_session); another's are dropped.
    local ttl = num(16)
    local was = redis.call('HMGET', key.held_for(user), 'session', 'until')
    if was[1] ~= hold_for or not alive(was[2]) then redis.call('DEL', key.held(user)) end
    redis.call('XADD', key.held(user), 'MAXLEN', '=', argv[3], '*', unpack(message_pairs(8)))
    redis.call('HSET', key.held_for(user), 'session', hold_for, 'until', num_now + ttl)
    redis.call('PEXPIRE', key.held(user), ttl)
    redis.call('PEXPIRE', key.held_for(user), ttl)
    held = true
  end
  redis.call('INCR', key.writes)
  if marker then redis.call('SET', marker, num(6) + num(7) + (held and 0.5 or 0), 'PX', argv[7]) end
  if held then return answer('held', 'holder', holder, writes_fields()) end
  notify('u', user)
  return answer('ok', 'holder', holder, writes_fields())
end

-- read(user, cursor, max, consume, epoch, now, candidate_epoch, want_rooms): the queue after
-- the cursor (ReadAfter), the user marked active and online; its rooms when needed.
-- 'missing', 'beyond' {seq, epoch}, or 'ok' {epoch, epoch_changed, gap, missed, cursor,
-- went_online, rooms, entries, seq, event}: `seq` the queue's last, `event` the shard's last
-- notification (a broker mirrors the queue from there, QueueMirror).
ops.read = function()
  local user, cursor, max, consume, epoch, now =
      argv[2], num(3), num(4), argv[5] == '1', argv[6], num(7)
  local u = key.user(user)
  local h = redis.call('HMGET', u, 'epoch', 'seq', 'consume', 'online', 'fence')
  if not h[1] then return answer('missing') end
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
    return answer('beyond', 'seq', seq, 'epoch', h[1])
  end
  local queue = key.queue(user)
  local len = redis.call('XLEN', queue)
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
    entries = redis.call('XRANGE', queue, start .. '-0', '+', 'COUNT', max)
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
    rooms = redis.call('SMEMBERS', key.user_rooms(user))
  end
  return answer('ok', 'epoch', h[1], 'epoch_changed', epoch_changed, 'gap', gap,
                'missed', missed, 'cursor', out_cursor, 'went_online', went_online,
                'rooms', rooms, 'entries', entries, 'seq', seq,
                'event', tonumber(redis.call('GET', key.events) or '0'))
end

-- read_many(n, then read's 8 arguments n times): n reads in one call, 'ok' {reads: their
-- answers in order}. The reads of the polls one notification wakes come together so.
ops.read_many = function()
  local all, n, answers = argv, tonumber(argv[2]), {}
  for i = 0, n - 1 do
    argv = {'read', unpack(all, 3 + i * 8, 10 + i * 8)}
    answers[i + 1] = ops.read()
  end
  argv = all
  return answer('ok', 'reads', answers)
end

-- rooms_of(user): 'missing' or 'ok' {rooms}
ops.rooms_of = function()
  if redis.call('EXISTS', key.user(argv[2])) == 0 then return answer('missing') end
  return answer('ok', 'rooms', redis.call('SMEMBERS', key.user_rooms(argv[2])))
end

-- history(room, limit, reader, before): up to limit entries (0: all) older than the entry id
-- `before` ('': the newest). 'no_room' or 'ok' {entries, newest first; older: the id of the
-- oldest entry given when an older one is kept, else ''}
ops.history = function()
  local room, limit, before = argv[2], num(3), argv[5]
  if redis.call('EXISTS', key.room(room)) == 0 or not admits(room, argv[4]) then
    return answer('no_room')
  end
  local top = before == '' and '+' or '(' .. before
  local entries
  if limit == 0 then
    entries = redis.call('XREVRANGE', key.history(room), top, '-')
  else
    entries = redis.call('XREVRANGE', key.history(room), top, '-', 'COUNT', limit + 1)
  end
  local older = ''
  if limit > 0 and #entries > limit then
    entries[#entries] = nil
    older = entries[#entries][1]
  end
  return answer('ok', 'entries', entries, 'older', older)
end

-- members(room, limit, after, online_only, prefix, reader): one page by name
-- (RoomPresence::List); a private room the reader may not read is 'no_room'.
-- 'no_room' or 'ok' {next_after, names, online (a flag per name), the presence}
ops.members = function()
  local room, limit, after, online_only, prefix = argv[2], num(3), argv[4], argv[5] == '1', argv[6]
  if redis.call('EXISTS', key.room(room)) == 0 or not admits(room, argv[7]) then
    return answer('no_room')
  end
  local set = online_only and key.online(room) or key.members(room)
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
    if online_only or redis.call('ZSCORE', key.online(room), name) then
      online[#online + 1] = 1
    else
      online[#online + 1] = 0
    end
  end
  return answer('ok', 'next_after', next_after, 'names', page, 'online_flags', online,
                presence_fields(room))
end

-- touch(user, time, user, time...): polls parked on a broker, and reads a broker answered from
-- its mirror, count as activity at that time. 'ok'
ops.touch = function()
  for i = 2, #argv - 1, 2 do
    -- Every user is created with 'active': no value means no user (gone meanwhile).
    local active = redis.call('HGET', key.user(argv[i]), 'active')
    if active and num(i + 1) > tonumber(active) then touch(argv[i], num(i + 1)) end
  end
  return answer('ok')
end

-- sweep(now, presence_window_ms, idle_ms, grace_ms): users of this shard idle past idle_ms
-- (to expire), users gone quiet past the window, now marked offline, with their rooms, and
-- users with leaves pending for longer than grace_ms (their operation failed part-way; the
-- sweep finishes them), with those rooms.
-- 'ok' {expired, offline, offline_rooms (an array per user), leaving, leaving_rooms}
ops.sweep = function()
  local now, window, idle = num(2), num(3), num(4)
  local leaving, leaving_rooms = {}, {}
  local late = redis.call('ZRANGEBYSCORE', key.leaving, '-inf', now - num(5), 'LIMIT', 0, 1000)
  for _, user in ipairs(late) do
    leaving[#leaving + 1] = user
    leaving_rooms[#leaving_rooms + 1] = pending_leaves(user)
  end
  local quiet = redis.call('ZRANGEBYSCORE', key.active, '-inf', '(' .. (now - window))
  local expired, offline, rooms = {}, {}, {}
  for _, user in ipairs(quiet) do
    local u = key.user(user)
    local h = redis.call('HMGET', u, 'active', 'online')
    if not h[1] then
      redis.call('ZREM', key.active, user)
    elseif now - tonumber(h[1]) > idle then
      expired[#expired + 1] = user
    elseif h[2] == '1' then
      redis.call('HSET', u, 'online', 0)
      notify('m', user)
      offline[#offline + 1] = user
      rooms[#rooms + 1] = redis.call('SMEMBERS', key.user_rooms(user))
    end
  end
  return answer('ok', 'expired', expired, 'offline', offline, 'offline_rooms', rooms,
                'leaving', leaving, 'leaving_rooms', leaving_rooms)
end

-- presence_changed_rooms(): the rooms whose presence changed since last published, each
-- 'room' {name, members, published_at (ms; -1: never)}: the broker decides which are due
-- (PresenceNotifyInterval) and publishes those. 'ok' {rooms}
ops.presence_changed_rooms = function()
  local out = {}
  for _, room in ipairs(redis.call('SMEMBERS', key.due)) do
    local r = key.room(room)
    if redis.call('EXISTS', r) == 0 then
      redis.call('SREM', key.due, room)
    else
      out[#out + 1] = answer('room', 'name', room, 'members', redis.call('ZCARD', key.members(room)),
                             'published_at', tonumber(redis.call('HGET', r, 'pub_at')))
    end
  end
  return answer('ok', 'rooms', out)
end

-- presence_publish(now, rooms...): publishes these rooms' presence as it is now (a room gone
-- meanwhile is skipped). 'ok' {published}
ops.presence_publish = function()
  local now, published = num(2), 0
  for i = 3, #argv do
    local room = argv[i]
    local r = key.room(room)
    if redis.call('EXISTS', r) == 1 then
      local h = redis.call('HMGET', r, 'version', 'mode')
      redis.call('HSET', r, 'pub_version', h[1], 'pub_members',
                 redis.call('ZCARD', key.members(room)), 'pub_online',
                 redis.call('ZCARD', key.online(room)), 'pub_mode', h[2], 'pub_at', now)
      notify('p', room)
      published = published + 1
    end
    redis.call('SREM', key.due, room)
  end
  return answer('ok', 'published', published)
end

-- Room access (the server API). A room's access list lives with the room; the kept rooms a
-- user may enter live with the user (joined at Connect), outliving the user's own keys.

-- room_access(room, user, granted): whether the user may join: 'ok' (the room is public,
-- missing (a join creates it public), or the user is on its list; granted: put on it now) or
-- 'denied'.
ops.room_access = function()
  local room, user = argv[2], argv[3]
  if redis.call('EXISTS', key.room(room)) == 0 or admits(room, user) then return answer('ok') end
  if argv[4] ~= '1' then return answer('denied') end
  redis.call('SADD', key.access(room), user)
  return answer('ok')
end

-- room_create(room, private, members...): a kept room with its access list. 'exists' or
-- 'ok' {the presence}
ops.room_create = function()
  local room = argv[2]
  if redis.call('EXISTS', key.room(room)) == 1 then return answer('exists') end
  create_room(room)
  redis.call('HSET', key.room(room), 'kept', 1, 'private', argv[3])
  for i = 4, #argv do redis.call('SADD', key.access(room), argv[i]) end
  return answer('ok', presence_fields(room))
end

-- access_change(room, user, add 1/0): on or off the room's access list. 'no_room' or 'ok'
ops.access_change = function()
  local room = argv[2]
  if redis.call('EXISTS', key.room(room)) == 0 then return answer('no_room') end
  redis.call(argv[4] == '1' and 'SADD' or 'SREM', key.access(room), argv[3])
  return answer('ok')
end

-- allowed_change(user, room, add 1/0): the user's own list of kept rooms to join at Connect.
-- 'ok' {connected}
ops.allowed_change = function()
  local user = argv[2]
  redis.call(argv[4] == '1' and 'SADD' or 'SREM', key.allowed(user), argv[3])
  return answer('ok', 'connected', redis.call('EXISTS', key.user(user)))
end

-- revoke(user, since_ms, now, memory_ms): sessions begun before since_ms are refused by claim
-- until memory_ms after now. Counted as a write, as a logout is (a shard that loses it is
-- fenced, and the sessions begun before the loss are refused). 'ok' {writes, event}
ops.revoke = function()
  redis.call('HSET', key.revoked(argv[2]), 'since', argv[3], 'until', num(4) + num(5))
  redis.call('PEXPIRE', key.revoked(argv[2]), argv[5])
  redis.call('INCR', key.writes)
  return answer('ok', writes_fields())
end

-- rooms_list(): this shard's rooms. 'ok' {rooms: for each, 'room' {name, private, kept, the
-- presence}}
ops.rooms_list = function()
  local out = {}
  for _, room in ipairs(redis.call('SMEMBERS', key.rooms)) do
    local h = redis.call('HMGET', key.room(room), 'private', 'kept')
    out[#out + 1] = answer('room', 'name', room, 'private', h[1] == '1' and 1 or 0,
                           'kept', h[2] == '1' and 1 or 0, presence_fields(room))
  end
  return answer('ok', 'rooms', out)
end

-- shard_check(position, count): whether this shard is used with the same shard list by every
-- broker: the first broker to check writes '<position>/<count>' (key.shard); a broker whose
-- list puts the shard elsewhere, or has another length, would hash keys to the wrong shards.
-- 'ok' or 'mismatch' {first: what the shard was first used as}
ops.shard_check = function()
  local mine = argv[2] .. '/' .. argv[3]
  local first = redis.call('GET', key.shard)
  if not first then
    redis.call('SET', key.shard, mine)
    return answer('ok')
  end
  if first ~= mine then return answer('mismatch', 'first', first) end
  return answer('ok')
end

-- counts(): 'ok' {users, rooms} on this shard.
ops.counts = function()
  return answer('ok', 'users', redis.call('ZCARD', key.active),
                'rooms', redis.call('SCARD', key.rooms))
end

-- ARGV[1] is "<operation>@<writes>": the most appends this shard has acknowledged to the
-- calling broker. Fewer here means this Redis lost writes (a restart that lost the tail of its
-- append-only file, a flush, a new instance): its queues' seqs could be given twice, so the
-- shard is fenced (every user's epoch changes when next read, see current_epoch) and counts
-- on from what the broker saw.
local name, seen = string.match(argv[1], '^([%w_]+)@(%d+)$')
if not name then name = argv[1] end
if seen and tonumber(seen) > tonumber(redis.call('GET', key.writes) or '0') then
  fence()
  redis.call('SET', key.writes, seen)
end
local op = ops[name]
if not op then return redis.error_reply('INTERNAL unknown operation ' .. tostring(name)) end
return op()
