//! The Lua scripts that finish a job and dead-letter one, each one atomic step on Redis.

/// Writes a result once, acknowledges and deletes the entry. 1 when the result is new.
pub(super) const FINISH: &str = r"
local fresh = redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4])
if fresh then
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('HINCRBY', KEYS[4], 'completed', 1)
else
  redis.call('HINCRBY', KEYS[4], 'duplicates', 1)
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if fresh then return 1 else return 0 end
";

/// Moves an entry to the dead-letter stream; its caller gets a failed result.
pub(super) const DEAD: &str = r"
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'id', ARGV[3], 'stream', KEYS[1],
  'deliveries', ARGV[5], 'error', ARGV[6], 'job', ARGV[4])
if ARGV[3] ~= '' then
  local fresh = redis.call('SET', KEYS[3], ARGV[7], 'NX', 'EX', ARGV[8])
  if fresh then
    redis.call('RPUSH', KEYS[4], '1')
    redis.call('EXPIRE', KEYS[4], ARGV[8])
  end
end
redis.call('HINCRBY', KEYS[5], 'dead', 1)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";
