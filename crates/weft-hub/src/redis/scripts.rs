//! The Lua scripts that keep a topic's stream and epoch consistent: each
//! runs atomically in Redis, in one round trip. A topic's keys share the
//! hash tag `{TOPIC}`, so a script's keys are on one Redis Cluster slot.
//!
//! A stream entry holds `e` (the epoch), `k` (the kind: t, b, j, l), `p`
//! (the payload) and, if it is not for its sender, `x` (`NODE/MEMBER`).

/// Publishes one entry. KEYS: the stream, the epoch. ARGV: a new epoch
/// (used if the topic has none), kind, payload, except (empty: none), the
/// stream's length (the history's, or more), its age in milliseconds.
/// Returns `{id, epoch}`.
///
/// The stream is trimmed to about the length (`MAXLEN ~`) and to the age
/// by Redis' clock (`MINID ~`); both keys expire after the age, so a topic
/// nobody publishes to loses its history and its epoch together.
pub(super) const PUBLISH: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local id
if ARGV[4] == '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', epoch, 'k', ARGV[2], 'p', ARGV[3])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', epoch, 'k', ARGV[2], 'p', ARGV[3], 'x', ARGV[4])
end
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[6])
if oldest > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', oldest))
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {id, epoch}
";

/// Starts a subscription. KEYS: the stream, the epoch. ARGV: a new epoch
/// (used if the topic has none), the history's age in milliseconds, the
/// mode (`now`, `recent`, `resume`), the number of recent entries, the
/// client's epoch and offset (resume), the most entries a resume may give
/// back (the history's length: a client that missed more is not
/// recovered).
///
/// Returns `{epoch, last id, recovered (1, 0, or 2 when not asked),
/// entries}`. A resume recovers when the epoch is the topic's, the offset
/// is not past the last id, and nothing after it can have been dropped:
/// the entry at the offset is still there (trimming removes the oldest
/// first), or the offset is `0-0` and no entry was ever trimmed
/// (`entries-added` equals `length`, Redis 7.0).
pub(super) const SUBSCRIBE: &str = r"
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function le(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  if ams == nil or bms == nil then return false end
  return ams < bms or (ams == bms and aseq <= bseq)
end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch, 'PX', ARGV[2])
end
local last = '0-0'
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then last = newest[1][1] end
local function recent(n)
  if n <= 0 then return {} end
  local entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', n)
  local ordered = {}
  for i = #entries, 1, -1 do ordered[#ordered + 1] = entries[i] end
  return ordered
end
local mode = ARGV[3]
if mode == 'now' then return {epoch, last, 2, {}} end
if mode == 'recent' then return {epoch, last, 2, recent(tonumber(ARGV[4]))} end
local from = ARGV[6]
if ARGV[5] == epoch and le(from, last) then
  local kept = from == last or #redis.call('XRANGE', KEYS[1], from, from) > 0
  if not kept and from == '0-0' then
    -- Before the first entry: recovered if none was ever trimmed.
    local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1])
    if ok then
      local length, added
      for i = 1, #info, 2 do
        if info[i] == 'length' then length = info[i + 1] end
        if info[i] == 'entries-added' then added = info[i + 1] end
      end
      kept = length ~= nil and length == added
    else
      kept = true
    end
  end
  if kept then
    local most = tonumber(ARGV[7])
    local missed = redis.call('XRANGE', KEYS[1], '(' .. from, last, 'COUNT', most + 1)
    if #missed <= most then return {epoch, last, 1, missed} end
  end
end
return {epoch, last, 0, recent(tonumber(ARGV[4]))}
";
