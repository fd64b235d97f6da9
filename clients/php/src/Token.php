<?php

declare(strict_types=1);

namespace Gatecast;

/**
 * Tokens for browsers: the HS256 JWT gatecast accepts in token mode
 * (auth.mode = token), signed with auth.secret (GATECAST_AUTH_SECRET), not
 * with the push port's secret.
 *
 * The header is {"alg":"HS256","typ":"JWT"} and the claims are
 * {"sub":uid,"iat":now,"exp":now+ttl} plus "groups" when given: the groups
 * the browser may join by itself ("company:7:*" allows every group that
 * starts with "company:7:"). The page connects with
 * new WebSocket('ws://host:7272/?token=' + token).
 */
final class Token
{
    /** Longest uid and group name the gateway accepts, in bytes. */
    public const MAX_NAME = 128;
    /** Most entries in "groups". */
    public const MAX_GROUPS = 256;

    /**
     * Mints a token for $uid, valid for $ttl seconds.
     *
     * @param string          $secret auth.secret (at least 32 bytes on the gateway's side)
     * @param string|int      $uid    the user; an integer becomes its decimal text
     * @param int             $ttl    seconds from now; a few minutes is enough, since a
     *                                token is checked only when a connection logs in
     * @param string[]|null   $groups patterns the browser may join, null for none
     * @param int|null        $now    Unix time of issue (default: time())
     * @throws \InvalidArgumentException for an empty secret, a uid or group the gateway
     *                                   would refuse, or a ttl below 1
     */
    public static function mint(string $secret, string|int $uid, int $ttl = 3600, ?array $groups = null, ?int $now = null): string
    {
        if ($secret === '') {
            throw new \InvalidArgumentException('gatecast: Token::mint needs auth.secret (it is empty)');
        }
        $sub = (string)$uid;
        if ($sub === '' || strlen($sub) > self::MAX_NAME) {
            throw new \InvalidArgumentException('gatecast: the uid must be 1 to ' . self::MAX_NAME . ' bytes');
        }
        if ($ttl < 1) {
            throw new \InvalidArgumentException('gatecast: the ttl must be at least 1 second');
        }
        $now ??= time();
        $claims = ['sub' => $sub, 'iat' => $now, 'exp' => $now + $ttl];
        if ($groups !== null) {
            if (count($groups) > self::MAX_GROUPS) {
                throw new \InvalidArgumentException('gatecast: at most ' . self::MAX_GROUPS . ' groups');
            }
            $list = [];
            foreach ($groups as $g) {
                if (!is_string($g) && !is_int($g)) {
                    throw new \InvalidArgumentException('gatecast: a group must be a string');
                }
                $g = (string)$g;
                if ($g === '' || strlen($g) > self::MAX_NAME) {
                    throw new \InvalidArgumentException('gatecast: a group must be 1 to ' . self::MAX_NAME . ' bytes');
                }
                $list[] = $g;
            }
            $claims['groups'] = $list;
        }
        try {
            $payload = json_encode($claims, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new \InvalidArgumentException('gatecast: the uid and groups must be UTF-8', 0, $e);
        }
        $signed = self::b64('{"alg":"HS256","typ":"JWT"}') . '.' . self::b64($payload);
        return $signed . '.' . self::b64(hash_hmac('sha256', $signed, $secret, true));
    }

    /** base64url without padding (RFC 7515 §2). */
    private static function b64(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
