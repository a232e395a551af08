using System.Security.Cryptography;
using System.Text;

namespace StateKit.Redis.Internal;

/// <summary>
/// The Lua scripts of the Redis store. Each conditional operation is one script, so Redis runs it atomically.
/// An entry is a hash: <c>v</c> value, <c>n</c> version, <c>x</c> logical expiry (Unix ms, absent = none), <c>c</c> the
/// value's checksum (CRC-32C bound to the key) and <c>k</c> the version it was written at (a hash changed since by a
/// writer without checksums, or written before them, is read unverified).
/// A list is a Redis list plus a meta string holding its logical expiry; a list created with checksums has a meta
/// string starting with <c>c</c> (just <c>c</c> when it has no expiry) and each item starts with its 4-byte checksum. Redis' own key expiry (PEXPIRE) removes
/// the keys; the logical expiry, checked against the caller's clock, hides them the moment they are due.
/// Every script that changes something PUBLISHes a notice on the store's change channel (the argument at
/// <see cref="Script.ChannelArgument"/>) in the same atomic run, or SPUBLISHes it on its bucket's channel in the
/// hash-slot layout with a sharded feed (<see cref="Script.Sharded"/>): <c>kind|version|redis key</c> with kind s (set or touch), d (delete), a (list
/// append, version = length) or l (other list change, version = length).
/// </summary>
internal static class RedisScripts
{
    // ARGV[1]=now. Live version of the entry in KEYS[1] (0 when missing or due).
    private const string LiveVersion = """
        local function live_version(key, now)
          local cur = redis.pcall('HMGET', key, 'n', 'x')
          if cur.err then return -1, false end
          local ver = tonumber(cur[1]) or 0
          local exp = tonumber(cur[2])
          if ver > 0 and exp and exp <= now then return 0, true end
          return ver, exp ~= nil
        end
        local function apply(key, value, ver, exp, ttl, had_expiry, crc)
          if tonumber(exp) >= 0 then
            redis.call('HSET', key, 'v', value, 'n', ver, 'c', crc, 'k', ver, 'x', exp)
            redis.call('PEXPIRE', key, ttl)
          elseif had_expiry then
            redis.call('HSET', key, 'v', value, 'n', ver, 'c', crc, 'k', ver)
            redis.call('HDEL', key, 'x')
            redis.call('PERSIST', key)
          else
            redis.call('HSET', key, 'v', value, 'n', ver, 'c', crc, 'k', ver)
          end
        end
        """;

    /// <summary>KEYS[1..n] entries; ARGV[1]=now, then per write: value, expected (-1 = none), expiry (-1 = none), ttl ms,
    /// keep (1 = a live entry keeps its expiry; expiry and ttl are then those of a new entry), checksum; last, the change channel.
    /// Returns {1, v1..vn}, {0, index, current version} on the first conflict or {2, index} for a conditional write over
    /// a key of another type (nothing written in either case).</summary>
    /// <remarks>
    /// The first pass checks every condition against the state the batch itself has produced so far (a key written
    /// twice sees its own earlier write, its version and whether it then had an expiry); only then is anything written.
    /// </remarks>
    public static readonly Script SetMany = Script.Stamped(LiveVersion + "\n" + """
        local now = tonumber(ARGV[1])
        local versions = {}
        local expiring = {}
        local state = {}
        local keeping = {}
        for i = 1, #KEYS - 1 do
          local cur = state[KEYS[i]]
          local b = (i - 1) * 6 + 2
          local expected = tonumber(ARGV[b + 1])
          if not cur then
            local ver, had_expiry = live_version(KEYS[i], now)
            if ver < 0 then
              -- A key of another type: a conditional write refuses it, an unconditional one replaces it.
              if expected >= 0 then return {2, i} end
              redis.call('DEL', KEYS[i])
              ver = 0
            end
            cur = {ver, had_expiry}
          end
          if expected >= 0 and expected ~= cur[1] then return {0, i, cur[1]} end
          versions[i] = cur[1] + 1
          expiring[i] = cur[2]
          -- KeepCurrent on a live entry (or one written earlier in this batch) leaves its expiry as it is.
          keeping[i] = ARGV[b + 4] == '1' and cur[1] > 0
          if keeping[i] then
            state[KEYS[i]] = {cur[1] + 1, cur[2]}
          else
            state[KEYS[i]] = {cur[1] + 1, tonumber(ARGV[b + 2]) >= 0}
          end
        end
        for i = 1, #KEYS - 1 do
          local b = (i - 1) * 6 + 2
          if keeping[i] then
            redis.call('HSET', KEYS[i], 'v', ARGV[b], 'n', versions[i], 'c', ARGV[b + 5], 'k', versions[i])
          else
            apply(KEYS[i], ARGV[b], versions[i], ARGV[b + 2], ARGV[b + 3], expiring[i], ARGV[b + 5])
          end
          redis.call('PUBLISH', ARGV[#ARGV], 's|' .. versions[i] .. '|' .. KEYS[i])
        end
        table.insert(versions, 1, 1)
        return versions
        """);

    /// <summary>KEYS[1] entry; ARGV[1]=now, [2]=value, [3]=version, [4]=expiry (-1 = none), [5]=ttl ms, [6]=channel, [7]=checksum. Returns 1 when
    /// written, 0 when a live entry holds this version or a higher one, -2 for a key of another type.</summary>
    public static readonly Script SetAtVersion = Script.Stamped(LiveVersion + "\n" + """
        local ver, had_expiry = live_version(KEYS[1], tonumber(ARGV[1]))
        if ver < 0 then return -2 end
        if ver >= tonumber(ARGV[3]) then return 0 end
        apply(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], had_expiry, ARGV[7])
        redis.call('PUBLISH', ARGV[6], 's|' .. ARGV[3] .. '|' .. KEYS[1])
        return 1
        """, channel: 5);

    /// <summary>KEYS[1] entry; ARGV[1]=now, ARGV[2]=expected (-1 = none), ARGV[3]=channel. Returns {1 deleted / 0 missing / -1 conflict / -2 damaged, current version}.</summary>
    public static readonly Script Delete = Script.Stamped(LiveVersion + "\n" + """
        local ver = live_version(KEYS[1], tonumber(ARGV[1]))
        local expected = tonumber(ARGV[2])
        if ver < 0 then
          if expected >= 0 then return {-2, 0} end
          redis.call('DEL', KEYS[1])
          return {0, 0}
        end
        if expected >= 0 and expected ~= ver then return {-1, ver} end
        redis.call('DEL', KEYS[1])
        if ver > 0 then
          redis.call('PUBLISH', ARGV[3], 'd|' .. ver .. '|' .. KEYS[1])
          return {1, ver}
        end
        return {0, 0}
        """);

    /// <summary>KEYS[1] entry; ARGV[1]=now, ARGV[2]=expiry (-1 = none), ARGV[3]=ttl ms, ARGV[4]=channel. Returns 1 when a live entry was touched.</summary>
    public static readonly Script Touch = Script.Stamped(LiveVersion + "\n" + """
        local ver = live_version(KEYS[1], tonumber(ARGV[1]))
        if ver < 0 then return -2 end
        if ver == 0 then return 0 end
        if tonumber(ARGV[2]) >= 0 then
          redis.call('HSET', KEYS[1], 'x', ARGV[2])
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
        else
          redis.call('HDEL', KEYS[1], 'x')
          redis.call('PERSIST', KEYS[1])
        end
        redis.call('PUBLISH', ARGV[4], 't|' .. ver .. '|' .. KEYS[1])
        return 1
        """);

    // KEYS[1] list, KEYS[2] meta. Whether the list exists and is not due, and whether its items carry checksums.
    private const string ListLive = """
        local function list_live(now)
          if redis.call('EXISTS', KEYS[1]) == 0 then return false, true end
          local meta = redis.call('GET', KEYS[2])
          local checked = false
          if meta and string.sub(meta, 1, 1) == 'c' then
            checked = true
            meta = string.sub(meta, 2)
          end
          local exp = tonumber(meta)
          return not (exp and exp <= now), checked
        end
        local function set_expiry(exp, ttl, checked)
          local mark = ''
          if checked then mark = 'c' end
          if tonumber(exp) >= 0 then
            redis.call('SET', KEYS[2], mark .. exp, 'PX', ttl)
            redis.call('PEXPIRE', KEYS[1], ttl)
          else
            if checked then redis.call('SET', KEYS[2], mark) else redis.call('DEL', KEYS[2]) end
            redis.call('PERSIST', KEYS[1])
          end
        end
        """;

    /// <summary>ARGV[1]=now, [2]=new-list expiry, [3]=its ttl, [4]=1 sets [5]/[6] on a live list (0 keeps its expiry), [5]=expiry, [6]=ttl, [7]=channel,
    /// [8..]=items, each after its 4-byte checksum (a list created without checksums gets the items without it). Returns the new length.</summary>
    public static readonly Script ListAppend = Script.Stamped(ListLive + "\n" + """
        local live, checked = list_live(tonumber(ARGV[1]))
        local fresh = not live
        if fresh then
          redis.call('DEL', KEYS[1], KEYS[2])
          checked = true
        end
        local n = 0
        for i = 8, #ARGV, 1000 do
          local last = math.min(i + 999, #ARGV)
          if checked then
            n = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, last))
          else
            local plain = {}
            for j = i, last do plain[#plain + 1] = string.sub(ARGV[j], 5) end
            n = redis.call('RPUSH', KEYS[1], unpack(plain))
          end
        end
        if fresh then set_expiry(ARGV[2], ARGV[3], true) elseif ARGV[4] == '1' then set_expiry(ARGV[5], ARGV[6], checked) end
        redis.call('PUBLISH', ARGV[7], 'a|' .. n .. '|' .. KEYS[1])
        return n
        """, channel: 6);

    /// <summary>ARGV[1]=now. Returns the length of the live list.</summary>
    public static readonly Script ListLength = new(ListLive + "\n" + """
        if not list_live(tonumber(ARGV[1])) then return 0 end
        return redis.call('LLEN', KEYS[1])
        """);

    /// <summary>ARGV[1]=now, [2]=start, [3]=stop, [4]=channel. Returns the new length; an emptied list is removed.</summary>
    public static readonly Script ListTrim = Script.Stamped(ListLive + "\n" + """
        if not list_live(tonumber(ARGV[1])) then return 0 end
        redis.call('LTRIM', KEYS[1], ARGV[2], ARGV[3])
        local n = redis.call('LLEN', KEYS[1])
        if n == 0 then redis.call('DEL', KEYS[2]) end
        redis.call('PUBLISH', ARGV[4], 'l|' .. n .. '|' .. KEYS[1])
        return n
        """);

    /// <summary>ARGV[1]=now, [2]=channel. Removes the list; returns 1 when it was live.</summary>
    public static readonly Script ListDelete = Script.Stamped(ListLive + "\n" + """
        local live = list_live(tonumber(ARGV[1]))
        redis.call('DEL', KEYS[1], KEYS[2])
        if live then
          redis.call('PUBLISH', ARGV[2], 'l|0|' .. KEYS[1])
          return 1
        end
        return 0
        """);

    /// <summary>ARGV[1]=now, [2]=expiry (-1 = none), [3]=ttl, [4]=channel. Returns 1 when a live list was touched.</summary>
    public static readonly Script ListTouch = Script.Stamped(ListLive + "\n" + """
        local live, checked = list_live(tonumber(ARGV[1]))
        if not live then return 0 end
        set_expiry(ARGV[2], ARGV[3], checked)
        redis.call('PUBLISH', ARGV[4], 'l|' .. redis.call('LLEN', KEYS[1]) .. '|' .. KEYS[1])
        return 1
        """);

    /// <summary>
    /// One SCAN page over entry keys. ARGV[1]=cursor, [2]=MATCH pattern, [3]=now, [4]=COUNT, [5]=purge (1/0).
    /// Returns {next cursor, removed count, live keys...}; with purge=1 due entries are deleted.
    /// </summary>
    public static readonly Script ScanEntries = new("""
        local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[4])
        local now = tonumber(ARGV[3])
        local out = {page[1], 0}
        local removed = 0
        for _, key in ipairs(page[2]) do
          -- A key of another type (written by something else) must not break the listing or the purge of the rest:
          -- it is listed, so a read reports it as damaged, and never purged.
          local got = redis.pcall('HGET', key, 'x')
          local exp = nil
          if type(got) ~= 'table' then exp = tonumber(got) end
          if exp and exp <= now then
            if ARGV[5] == '1' then removed = removed + redis.call('DEL', key) end
          elseif ARGV[5] ~= '1' then
            table.insert(out, key)
          end
        end
        out[2] = removed
        return out
        """);

    /// <summary>One SCAN page over list keys. ARGV[1]=cursor, [2]=MATCH pattern, [3]=now, [4]=COUNT, [5]=byte offset of the kind
    /// (<c>l:</c>) in a list key; its meta key is the same key with <c>m:</c> there.
    /// Returns {next cursor, 0, list key, expiry or '', …} for the live lists of the page.</summary>
    public static readonly Script ScanLists = new("""
        local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[4])
        local now = tonumber(ARGV[3])
        local at = tonumber(ARGV[5])
        local out = {page[1], 0}
        for _, list in ipairs(page[2]) do
          local meta = redis.pcall('GET', string.sub(list, 1, at) .. 'm:' .. string.sub(list, at + 3))
          if type(meta) == 'table' then meta = nil end
          if meta and string.sub(meta, 1, 1) == 'c' then meta = string.sub(meta, 2) end
          local exp = tonumber(meta)
          if not (exp and exp <= now) then
            table.insert(out, list)
            table.insert(out, exp and tostring(exp) or '')
          end
        end
        return out
        """);

    /// <summary>One SCAN page over list meta keys. ARGV[1]=cursor, [2]=MATCH pattern, [3]=now, [4]=COUNT, [5]=byte offset of the kind
    /// (<c>m:</c>) in a meta key; the list key is the same key with <c>l:</c> there.
    /// Deletes due lists (meta and list key) and the meta key of a list that is gone; returns {next cursor, removed count}.</summary>
    public static readonly Script PurgeLists = new("""
        local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[4])
        local now = tonumber(ARGV[3])
        local removed = 0
        for _, meta in ipairs(page[2]) do
          local value = redis.call('GET', meta)
          local at = tonumber(ARGV[5])
          local list = string.sub(meta, 1, at) .. 'l:' .. string.sub(meta, at + 3)
          if value and string.sub(value, 1, 1) == 'c' then value = string.sub(value, 2) end
          local exp = tonumber(value)
          if exp and exp <= now then
            redis.call('DEL', meta, list)
            removed = removed + 1
          elseif redis.call('EXISTS', list) == 0 then
            redis.call('DEL', meta)
          end
        end
        return {page[1], removed}
        """);

    /// <summary>A script and its SHA-1, for EVALSHA with a fallback to EVAL when the server has not seen it.</summary>
    /// <param name="text">The Lua source.</param>
    /// <param name="stamped">Whether the script increments the write counter (its last key) and returns <c>{result, counter}</c>.</param>
    /// <param name="channelArgument">Where a writing script's change channel is among its arguments.</param>
    internal sealed class Script(string text, bool stamped = false, Index channelArgument = default)
    {
        private Script? _sharded;

        public string Text { get; } = text;

        /// <summary>Gets a value indicating whether the script is a writing script wrapped by <see cref="Stamped"/>.</summary>
        public bool IsStamped { get; } = stamped;

        /// <summary>Gets the position of the change channel among a writing script's arguments.</summary>
        public Index ChannelArgument { get; } = channelArgument;

        /// <summary>
        /// Gets the same script publishing with <c>SPUBLISH</c> (Redis 7 sharded pub/sub): its channel is the bucket's,
        /// in the same hash slot as its keys, so a notice costs one message on that shard instead of one per node.
        /// </summary>
        public Script Sharded => _sharded ??= new(Text.Replace("redis.call('PUBLISH',", "redis.call('SPUBLISH',", StringComparison.Ordinal), IsStamped, ChannelArgument);

        /// <summary>
        /// A writing script that also increments the write counter of its keys' bucket, passed as the last key, in the
        /// same atomic run, and returns <c>{its result, the counter}</c>. Its change channel is the argument at
        /// <paramref name="channel"/> (the last one unless given).
        /// </summary>
        public static Script Stamped(string body, Index? channel = null) => new(
            "local function body()\n" + body + "\nend\nlocal result = body()\nreturn {result, redis.call('INCR', KEYS[#KEYS])}",
            stamped: true,
            channel ?? ^1);

        public byte[] Hash { get; } = SHA1.HashData(Encoding.UTF8.GetBytes(text));

        public string HashHex { get; } = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
