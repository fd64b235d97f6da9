<?php

declare(strict_types=1);

namespace Gatecast;

/**
 * GatewayWorker's Gateway:: for gatecast. Code written against
 * GatewayWorker\Lib\Gateway switches with its `use` line:
 *
 *     use Gatecast\Gateway;              // was: use GatewayWorker\Lib\Gateway;
 *     Gateway::$pushAddress = '127.0.0.1:8806';
 *     Gateway::sendToUid($uid, json_encode(['type' => 'new_msg']));
 *
 * Every method forwards to one shared Client (see Client for what each
 * returns and throws), made from the settings below on first use and made
 * again when they change. The connection stays open for the life of the
 * PHP process or request.
 *
 * Differences from GatewayWorker: pushes go to one gateway's push port
 * instead of each gateway through the register; sends and ungroup return
 * the gateway's reply instead of nothing; an "ok":false reply throws
 * Gatecast\Exception; the GatewayWorker methods that gatecast has no
 * command for (getAllClientIdList, getClientIdListByGroup, getAllUidList,
 * getAllClientSessions, getClientSessionsByGroup, getAllGroupUidList, ...)
 * throw \BadMethodCallException; $raw arguments are ignored.
 */
final class Gateway
{
    /** gateway.push_listen of a gateway, "host:port". */
    public static string $pushAddress = Client::DEFAULT_ADDRESS;

    /** push.secret; null reads GATECAST_PUSH_SECRET, '' sends none. */
    public static ?string $secretKey = null;

    /** Seconds to open the connection. */
    public static float $connectTimeout = 3.0;

    /** Seconds to wait for each reply. */
    public static float $timeout = 10.0;

    /** auth.secret for token(); null reads GATECAST_AUTH_SECRET. */
    public static ?string $authSecret = null;

    /** Accepted so GatewayWorker code runs unchanged, and not used: gatecast
     * needs no register lookup to push. Set $pushAddress instead. */
    public static ?string $registerAddress = null;

    /** Accepted for GatewayWorker code and not used: the connection is
     * always kept for the life of the process. */
    public static bool $persistentConnection = true;

    private static ?Client $client = null;
    private static string $clientKey = '';

    /** The shared Client, e.g. for batch() or lastReply(). */
    public static function client(): Client
    {
        $key = serialize([self::$pushAddress, self::$secretKey, self::$connectTimeout, self::$timeout]);
        if (self::$client === null || $key !== self::$clientKey) {
            self::$client?->close();
            self::$client = new Client(self::$pushAddress, self::$secretKey, self::$connectTimeout, self::$timeout);
            self::$clientKey = $key;
        }
        return self::$client;
    }

    /**
     * A browser token for $uid (see Token::mint), signed with $authSecret or
     * GATECAST_AUTH_SECRET.
     *
     * @param string[]|null $groups groups the browser may join by itself ("company:7:*")
     */
    public static function token(string|int $uid, int $ttl = 3600, ?array $groups = null): string
    {
        $secret = self::$authSecret;
        if ($secret === null) {
            $env = getenv('GATECAST_AUTH_SECRET');
            $secret = is_string($env) ? $env : '';
        }
        return Token::mint($secret, $uid, $ttl, $groups);
    }

    /** Pipelined raw commands; see Client::batch. */
    public static function batch(array $commands): array
    {
        return self::client()->batch($commands);
    }

    public static function sendToUid(string|int|array $uid, mixed $message): array
    {
        return self::client()->sendToUid($uid, $message);
    }

    public static function sendToGroup(string|int|array $group, mixed $message,
        string|array|null $exclude_client_id = null, bool $raw = false): array
    {
        return self::client()->sendToGroup($group, $message, $exclude_client_id);
    }

    public static function sendToAll(mixed $message, ?array $client_id_array = null,
        string|array|null $exclude_client_id = null, bool $raw = false): array
    {
        return self::client()->sendToAll($message, $client_id_array, $exclude_client_id);
    }

    public static function sendToClient(string|array $client_id, mixed $message): array
    {
        return self::client()->sendToClient($client_id, $message);
    }

    public static function closeClient(string $client_id, mixed $message = null): bool
    {
        return self::client()->closeClient($client_id, $message);
    }

    public static function bindUid(string $client_id, string|int $uid): void
    {
        self::client()->bindUid($client_id, $uid);
    }

    public static function unbindUid(string $client_id, string|int|null $uid = null): void
    {
        self::client()->unbindUid($client_id, $uid);
    }

    public static function joinGroup(string $client_id, string|int $group): void
    {
        self::client()->joinGroup($client_id, $group);
    }

    public static function leaveGroup(string $client_id, string|int $group): void
    {
        self::client()->leaveGroup($client_id, $group);
    }

    public static function ungroup(string|int $group): array
    {
        return self::client()->ungroup($group);
    }

    public static function isUidOnline(string|int $uid): int
    {
        return self::client()->isUidOnline($uid);
    }

    public static function isOnline(string $client_id): int
    {
        return self::client()->isOnline($client_id);
    }

    public static function getClientIdByUid(string|int $uid): array
    {
        return self::client()->getClientIdByUid($uid);
    }

    public static function getUidByClientId(string $client_id): ?string
    {
        return self::client()->getUidByClientId($client_id);
    }

    public static function getClientCountByGroup(string|int|null $group = ''): int
    {
        return self::client()->getClientCountByGroup($group);
    }

    public static function getClientIdCountByGroup(string|int|null $group = ''): int
    {
        return self::client()->getClientCountByGroup($group);
    }

    public static function getUidListByGroup(string|int $group): array
    {
        return self::client()->getUidListByGroup($group);
    }

    public static function getUidCountByGroup(string|int $group): int
    {
        return self::client()->getUidCountByGroup($group);
    }

    public static function getAllUidCount(): int
    {
        return self::client()->getAllUidCount();
    }

    public static function getAllClientCount(): int
    {
        return self::client()->getAllClientCount();
    }

    public static function getAllClientIdCount(): int
    {
        return self::client()->getAllClientCount();
    }

    public static function getAllGroupIdList(): array
    {
        return self::client()->getAllGroupIdList();
    }

    public static function setSession(string $client_id, array $session): void
    {
        self::client()->setSession($client_id, $session);
    }

    public static function updateSession(string $client_id, array $session): void
    {
        self::client()->updateSession($client_id, $session);
    }

    public static function getSession(string $client_id): ?array
    {
        return self::client()->getSession($client_id);
    }

    /** GatewayWorker methods without a gatecast command fail loudly, by name. */
    public static function __callStatic(string $name, array $args): never
    {
        throw new \BadMethodCallException("gatecast: Gateway::$name() is not available: the push port "
            . 'has no such command (see the push port table in docs/push-api.md of gatecast)');
    }
}
