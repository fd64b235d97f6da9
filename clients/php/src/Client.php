<?php

declare(strict_types=1);

namespace Gatecast;

/**
 * One connection to a gatecast push port (gateway.push_listen): one JSON
 * object per line out, one reply line per request back, in order.
 *
 *     $c = new Client('127.0.0.1:8806', secret: getenv('GATECAST_PUSH_SECRET'));
 *     $c->sendToUid('42', json_encode(['type' => 'new_msg']));
 *     [$a, $b] = $c->batch([['type' => 'is_uid_online', 'uid' => '42'],
 *                           ['type' => 'get_all_client_count']]);
 *
 * The methods are named after GatewayWorker's Gateway:: and return what
 * GatewayWorker returns where it returns something (isUidOnline: 0 or 1,
 * getClientIdByUid: a list, getUidListByGroup: a uid => uid map, counts:
 * int). The sends and ungroup, which return nothing there, return the
 * gateway's reply (['ok' => true, 'delivered' => 2, ...]). A reply with
 * "ok":false throws Exception (its getError() is the gateway's code), except
 * "not_found" where GatewayWorker has an answer for it: closeClient gives
 * false, getUidByClientId and getSession null, isOnline 0. request() and
 * batch() return raw replies and throw only when the connection fails.
 *
 * The connection opens on first use and stays open for the life of the
 * object. When push.secret is set, the auth line goes out first, in the same
 * write as the first requests. A connection the gateway has closed meanwhile
 * (a gateway restart) is noticed before the next request and replaced. If it
 * breaks after a request went out and before any reply came, the requests
 * are sent once more on a new connection when none of them is a send
 * (queries, joins, sessions: repeating them is harmless); a send then throws
 * ConnectionException "closed", because the gateway may have delivered it.
 *
 * Not safe to share between threads or forked processes: give each its own.
 */
final class Client
{
    public const DEFAULT_ADDRESS = '127.0.0.1:8806';

    /** Requests written per round trip in batch(), well under the port's
     * 4096 in flight, so that the gateway never stops reading mid-write. */
    private const CHUNK = 1000;

    /** Commands that a retry could deliver twice. */
    private const SENDS = ['send_to_uid' => true, 'send_to_group' => true, 'send_to_all' => true,
        'send_to_client' => true];

    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
        | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

    private string $address;
    private string $secret;
    private float $connectTimeout;
    private float $timeout;

    /** @var resource|null */
    private $sock = null;
    private string $in = '';
    private bool $authed = false;
    private int $answered = 0;
    private ?array $lastReply = null;

    /**
     * @param string      $address        "host:port" of gateway.push_listen ("tcp://" optional;
     *                                    "[::1]:8806" for IPv6; 0.0.0.0 means this host)
     * @param string|null $secret         push.secret; null reads GATECAST_PUSH_SECRET, '' sends none
     * @param float       $connectTimeout seconds to open the connection
     * @param float       $timeout        seconds to wait for each reply (the gateway answers
     *                                    within gateway.request_timeout, 5 s by default)
     */
    public function __construct(string $address = self::DEFAULT_ADDRESS, ?string $secret = null,
        float $connectTimeout = 3.0, float $timeout = 10.0)
    {
        $this->address = self::normalizeAddress($address);
        if ($secret === null) {
            $env = getenv('GATECAST_PUSH_SECRET');
            $secret = is_string($env) ? $env : '';
        }
        $this->secret = $secret;
        $this->connectTimeout = $connectTimeout;
        $this->timeout = $timeout;
    }

    public function __destruct()
    {
        $this->close();
    }

    /** Closes the connection; the next request opens a new one. */
    public function close(): void
    {
        if ($this->sock !== null) {
            @fclose($this->sock);
        }
        $this->sock = null;
        $this->in = '';
        $this->authed = false;
    }

    /** "tcp://host:port", where the connection goes. */
    public function address(): string
    {
        return $this->address;
    }

    /**
     * The reply behind the last named method call (sendToUid, isUidOnline,
     * ...), e.g. to see "partial" on a count, or null before the first.
     */
    public function lastReply(): ?array
    {
        return $this->lastReply;
    }

    // ------------------------------------------------------------ raw access

    /**
     * Sends one push-port command (['type' => 'send_to_uid', ...]) and returns
     * its reply, "ok":false included.
     *
     * @throws ConnectionException
     */
    public function request(array $command): array
    {
        return $this->exchange([$command])[0];
    }

    /**
     * Pipelines commands: writes them all, then reads all the replies, which
     * come back in the same order (keys of $commands are kept). Replies with
     * "ok":false are returned, not thrown.
     *
     * @param array<array> $commands each an array with a 'type'
     * @return array<array> the replies
     * @throws ConnectionException
     */
    public function batch(array $commands): array
    {
        $keys = array_keys($commands);
        $replies = $this->exchange(array_values($commands));
        return $keys === array_keys($replies) ? $replies : array_combine($keys, $replies);
    }

    // --------------------------------------------------------------- sends

    /**
     * Sends $message to every connection of $uid (or of each uid in an array).
     * A string arrives as its text, any other value as compact JSON; a string
     * that is not UTF-8 goes as a binary frame.
     *
     * @return array ['ok' => true, 'delivered' => n, 'offline' => [uids without a connection]]
     */
    public function sendToUid(string|int|array $uid, mixed $message): array
    {
        return $this->call(self::data(['type' => 'send_to_uid', 'uid' => self::names($uid)], $message));
    }

    /**
     * Sends $message to every connection in $group (or in any of an array of
     * groups), except the client ids in $exclude_client_id. $raw is accepted
     * for GatewayWorker compatibility and ignored.
     *
     * @return array ['ok' => true, 'delivered' => n]
     */
    public function sendToGroup(string|int|array $group, mixed $message,
        string|array|null $exclude_client_id = null, bool $raw = false): array
    {
        $cmd = ['type' => 'send_to_group', 'group' => self::names($group)];
        if ($exclude_client_id !== null && $exclude_client_id !== []) {
            $cmd['exclude'] = array_values((array)$exclude_client_id);
        }
        return $this->call(self::data($cmd, $message));
    }

    /**
     * Sends $message to every connection, or, as in GatewayWorker, only to
     * the client ids in $client_id_array when it is given (an empty array
     * sends nothing), minus $exclude_client_id. $raw is ignored.
     *
     * @return array ['ok' => true, 'delivered' => n]
     */
    public function sendToAll(mixed $message, ?array $client_id_array = null,
        string|array|null $exclude_client_id = null, bool $raw = false): array
    {
        $exclude = array_values((array)($exclude_client_id ?? []));
        if ($client_id_array !== null) {
            $ids = array_values(array_diff(array_values($client_id_array), $exclude));
            if ($ids === []) {
                return $this->lastReply = ['ok' => true, 'delivered' => 0];
            }
            return $this->call(self::data(['type' => 'send_to_client', 'client_id' => $ids], $message));
        }
        $cmd = ['type' => 'send_to_all'];
        if ($exclude !== []) {
            $cmd['exclude'] = $exclude;
        }
        return $this->call(self::data($cmd, $message));
    }

    /**
     * Sends $message to one client id (or each of an array of them). An
     * unknown client id is not an error: it counts 0 in "delivered".
     *
     * @return array ['ok' => true, 'delivered' => n]
     */
    public function sendToClient(string|array $client_id, mixed $message): array
    {
        $ids = is_array($client_id) ? array_values($client_id) : $client_id;
        return $this->call(self::data(['type' => 'send_to_client', 'client_id' => $ids], $message));
    }

    /**
     * Closes a browser connection (close code 1000), after sending $message
     * when it is not null. False when the client is not connected.
     */
    public function closeClient(string $client_id, mixed $message = null): bool
    {
        $cmd = ['type' => 'close_client', 'client_id' => $client_id];
        if ($message !== null) {
            $cmd = self::data($cmd, $message);
        }
        return $this->call($cmd, true) !== null;
    }

    // ------------------------------------------------------ uids and groups

    /** Binds a connection to $uid (a connection has at most one uid).
     * @throws Exception "not_found" when the client is not connected */
    public function bindUid(string $client_id, string|int $uid): void
    {
        $this->call(['type' => 'bind_uid', 'client_id' => $client_id, 'uid' => $uid]);
    }

    /** Unbinds a connection from its uid; with $uid, only when bound to that one.
     * @throws Exception "not_found" when the client is not connected */
    public function unbindUid(string $client_id, string|int|null $uid = null): void
    {
        $cmd = ['type' => 'unbind_uid', 'client_id' => $client_id];
        if ($uid !== null) {
            $cmd['uid'] = $uid;
        }
        $this->call($cmd);
    }

    /** Adds a connection to $group.
     * @throws Exception "not_found", "too_many_groups" */
    public function joinGroup(string $client_id, string|int $group): void
    {
        $this->call(['type' => 'join_group', 'client_id' => $client_id, 'group' => $group]);
    }

    /** Removes a connection from $group.
     * @throws Exception "not_found" when the client is not connected */
    public function leaveGroup(string $client_id, string|int $group): void
    {
        $this->call(['type' => 'leave_group', 'client_id' => $client_id, 'group' => $group]);
    }

    /** Removes every connection from $group.
     * @return array ['ok' => true] */
    public function ungroup(string|int $group): array
    {
        return $this->call(['type' => 'ungroup', 'group' => $group]);
    }

    // ------------------------------------------------------------- queries

    /** 1 when $uid has a connection, else 0 (ints, as GatewayWorker). */
    public function isUidOnline(string|int $uid): int
    {
        return $this->call(['type' => 'is_uid_online', 'uid' => $uid])['online'] ? 1 : 0;
    }

    /** 1 when the client id is connected, else 0 (asks get_uid_by_client_id). */
    public function isOnline(string $client_id): int
    {
        return $this->call(['type' => 'get_uid_by_client_id', 'client_id' => $client_id], true) === null ? 0 : 1;
    }

    /** @return string[] the client ids of $uid's connections */
    public function getClientIdByUid(string|int $uid): array
    {
        return $this->call(['type' => 'get_client_id_by_uid', 'uid' => $uid])['client_ids'];
    }

    /** The uid of a connection: null when it has none or is not connected. */
    public function getUidByClientId(string $client_id): ?string
    {
        $r = $this->call(['type' => 'get_uid_by_client_id', 'client_id' => $client_id], true);
        return $r === null ? null : $r['uid'];
    }

    /** Connections in $group; without a group, all connections (as GatewayWorker). */
    public function getClientCountByGroup(string|int|null $group = ''): int
    {
        if ($group === null || $group === '') {
            return $this->getAllClientCount();
        }
        return $this->call(['type' => 'get_client_count_by_group', 'group' => $group])['count'];
    }

    /** Alias of getClientCountByGroup, as in GatewayWorker. */
    public function getClientIdCountByGroup(string|int|null $group = ''): int
    {
        return $this->getClientCountByGroup($group);
    }

    /** @return array<string, string> the distinct uids in $group, as a uid => uid map
     * like GatewayWorker's (array_values() for a list) */
    public function getUidListByGroup(string|int $group): array
    {
        $uids = $this->call(['type' => 'get_uid_list_by_group', 'group' => $group])['uids'];
        return $uids === [] ? [] : array_combine($uids, $uids);
    }

    /** Distinct uids in $group. */
    public function getUidCountByGroup(string|int $group): int
    {
        return $this->call(['type' => 'get_uid_count_by_group', 'group' => $group])['count'];
    }

    /** Distinct uids with a connection. */
    public function getAllUidCount(): int
    {
        return $this->call(['type' => 'get_all_uid_count'])['count'];
    }

    /** All connections. */
    public function getAllClientCount(): int
    {
        return $this->call(['type' => 'get_all_client_count'])['count'];
    }

    /** Alias of getAllClientCount, as in GatewayWorker. */
    public function getAllClientIdCount(): int
    {
        return $this->getAllClientCount();
    }

    /** @return array<string, string> the non-empty groups, as a group => group map
     * like GatewayWorker's */
    public function getAllGroupIdList(): array
    {
        $groups = $this->call(['type' => 'get_all_group_id_list'])['groups'];
        return $groups === [] ? [] : array_combine($groups, $groups);
    }

    // ------------------------------------------------------------ sessions

    /** Replaces a connection's session.
     * @throws Exception "not_found" when the client is not connected */
    public function setSession(string $client_id, array $session): void
    {
        $this->call(['type' => 'set_session', 'client_id' => $client_id, 'session' => (object)$session]);
    }

    /** Merges $session into a connection's session (top-level keys).
     * @throws Exception "not_found" when the client is not connected */
    public function updateSession(string $client_id, array $session): void
    {
        $this->call(['type' => 'update_session', 'client_id' => $client_id, 'session' => (object)$session]);
    }

    /** A connection's session: [] when none was set, null when the client is
     * not connected (GatewayWorker: null for a client that does not exist). */
    public function getSession(string $client_id): ?array
    {
        $r = $this->call(['type' => 'get_session', 'client_id' => $client_id], true);
        return $r === null ? null : ($r['session'] ?? []);
    }

    // ------------------------------------------------------------ internals

    /**
     * One command; returns its reply, or null when the gateway says
     * not_found and $notFoundIsNull.
     *
     * @throws Exception on "ok":false
     */
    private function call(array $cmd, bool $notFoundIsNull = false): ?array
    {
        $r = $this->exchange([$cmd])[0];
        $this->lastReply = $r;
        if (($r['ok'] ?? null) === true) {
            return $r;
        }
        $error = is_string($r['error'] ?? null) ? $r['error'] : 'bad_reply';
        if ($error === 'not_found' && $notFoundIsNull) {
            return null;
        }
        $message = is_string($r['message'] ?? null) ? $r['message'] : json_encode($r);
        throw new Exception($error, "{$cmd['type']}: $message", $r);
    }

    /** $message as "data", or as "data_base64" when it is a string that is not UTF-8. */
    private static function data(array $cmd, mixed $message): array
    {
        if (is_string($message) && preg_match('//u', $message) !== 1) {
            $cmd['data_base64'] = base64_encode($message);
        } else {
            $cmd['data'] = $message;
        }
        return $cmd;
    }

    private static function names(string|int|array $v): string|int|array
    {
        return is_array($v) ? array_values($v) : $v;
    }

    private static function normalizeAddress(string $address): string
    {
        $a = preg_replace('#^tcp://#i', '', trim($address));
        if (!preg_match('/^(\[[^\]]+\]|[^:\[\]]*):(\d+)$/', $a, $m)) {
            throw new \InvalidArgumentException("gatecast: bad push address \"$address\" (want host:port)");
        }
        $host = $m[1];
        if ($host === '' || $host === '0.0.0.0' || $host === '*') {
            $host = '127.0.0.1';
        } elseif ($host === '[::]') {
            $host = '[::1]';
        }
        return "tcp://$host:{$m[2]}";
    }

    /**
     * Sends the commands and returns their replies, retrying once on a new
     * connection as the class comment says.
     */
    private function exchange(array $commands): array
    {
        if ($commands === []) {
            return [];
        }
        $lines = [];
        $repeatable = true;
        foreach ($commands as $i => $cmd) {
            if (!is_array($cmd) || !is_string($cmd['type'] ?? null)) {
                throw new \InvalidArgumentException("gatecast: request $i must be an array with a string 'type'");
            }
            if (isset(self::SENDS[$cmd['type']])) {
                $repeatable = false;
            }
            if (isset($cmd['session']) && $cmd['session'] === []) {
                $cmd['session'] = new \stdClass(); // [] would be a JSON array
            }
            try {
                $lines[] = json_encode($cmd, self::JSON_FLAGS) . "\n";
            } catch (\JsonException $e) {
                throw new \InvalidArgumentException("gatecast: request $i cannot be JSON: {$e->getMessage()}", 0, $e);
            }
        }
        for ($attempt = 1;; $attempt++) {
            $reused = $this->alive();
            try {
                return $this->roundTrip($lines);
            } catch (ConnectionException $e) {
                $this->close();
                if ($attempt > 1 || !$reused || $this->answered > 0 || $e->getError() !== 'closed' || !$repeatable) {
                    throw $e;
                }
            }
        }
    }

    /**
     * Whether the open connection can be used: false when there is none, or
     * when the gateway has closed it (it is then dropped). Bytes that nobody
     * asked for mean the line order is lost, so they drop it too.
     */
    private function alive(): bool
    {
        if ($this->sock === null) {
            return false;
        }
        $r = [$this->sock];
        $w = $e = null;
        $n = @stream_select($r, $w, $e, 0, 0);
        if ($n === 0) {
            return true;
        }
        $this->close();
        return false;
    }

    private function connect(): void
    {
        $ctx = stream_context_create(['socket' => ['tcp_nodelay' => true]]);
        $errno = 0;
        $errstr = '';
        $sock = @stream_socket_client($this->address, $errno, $errstr, $this->connectTimeout,
            STREAM_CLIENT_CONNECT, $ctx);
        if ($sock === false) {
            throw new ConnectionException('connect', "cannot connect to the push port {$this->address}: "
                . ($errstr !== '' ? $errstr : "error $errno"));
        }
        stream_set_blocking($sock, false);
        stream_set_read_buffer($sock, 0);
        stream_set_write_buffer($sock, 0);
        $this->sock = $sock;
        $this->in = '';
        $this->authed = false;
    }

    private function roundTrip(array $lines): array
    {
        $this->answered = 0;
        if ($this->sock === null) {
            $this->connect();
        }
        $replies = [];
        $total = count($lines);
        foreach (array_chunk($lines, self::CHUNK) as $chunk) {
            $auth = !$this->authed && $this->secret !== '';
            $out = implode('', $chunk);
            if ($auth) {
                $out = json_encode(['type' => 'auth', 'secret' => $this->secret], self::JSON_FLAGS) . "\n" . $out;
            }
            $this->write($out);
            if ($auth) {
                $r = $this->readReply($total);
                if (($r['ok'] ?? null) !== true) {
                    $this->close();
                    throw new Exception(is_string($r['error'] ?? null) ? $r['error'] : 'unauthorized',
                        "the push port at {$this->address} refused the push secret (push.secret: "
                        . 'Gateway::$secretKey, GATECAST_PUSH_SECRET)', $r);
                }
                $this->authed = true;
            }
            foreach ($chunk as $_) {
                $r = $this->readReply($total);
                if (!$this->authed && ($r['error'] ?? null) === 'unauthorized') {
                    $this->close();
                    throw new Exception('unauthorized', "the push port at {$this->address} needs push.secret "
                        . '(set Gateway::$secretKey, the Client\'s $secret or GATECAST_PUSH_SECRET)', $r);
                }
                $replies[] = $r;
                $this->answered++;
            }
        }
        return $replies;
    }

    private function write(string $out): void
    {
        while ($out !== '') {
            $r = $e = null;
            $w = [$this->sock];
            $n = @stream_select($r, $w, $e, ...self::seconds($this->timeout));
            if ($n === 0) {
                throw new ConnectionException('timeout', "cannot send to {$this->address} within {$this->timeout} s");
            }
            $k = $n === false ? false : @fwrite($this->sock, $out);
            if ($k === false || ($k === 0 && feof($this->sock))) {
                $err = error_get_last()['message'] ?? 'connection closed';
                throw new ConnectionException('closed', "sending to {$this->address}: $err");
            }
            $out = (string)substr($out, $k);
        }
    }

    /** The next reply line, decoded. $total only words the errors. */
    private function readReply(int $total): array
    {
        $deadline = microtime(true) + $this->timeout;
        while (($nl = strpos($this->in, "\n")) === false) {
            $left = $deadline - microtime(true);
            if ($left <= 0) {
                throw new ConnectionException('timeout', "no reply from {$this->address} within {$this->timeout} s "
                    . "({$this->answered} of $total answered); the outcome is unknown");
            }
            $r = [$this->sock];
            $w = $e = null;
            $n = @stream_select($r, $w, $e, ...self::seconds($left));
            if ($n === 0) {
                continue;
            }
            $d = $n === false ? false : @fread($this->sock, 65536);
            if ($d === false || ($d === '' && feof($this->sock))) {
                throw new ConnectionException('closed', "the push port {$this->address} closed the connection "
                    . "({$this->answered} of $total answered)");
            }
            $this->in .= $d;
        }
        $line = substr($this->in, 0, $nl);
        $this->in = (string)substr($this->in, $nl + 1);
        $reply = json_decode(rtrim($line, "\r"), true);
        if (!is_array($reply)) {
            $this->close();
            throw new ConnectionException('bad_reply', 'not a JSON object: ' . substr($line, 0, 200));
        }
        return $reply;
    }

    /** @return array{int, int} seconds and microseconds for stream_select */
    private static function seconds(float $t): array
    {
        $t = max(0.0, $t);
        $s = (int)floor($t);
        return [$s, (int)(($t - $s) * 1e6)];
    }
}
