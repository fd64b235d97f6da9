<?php

declare(strict_types=1);

namespace Gatecast;

/**
 * A push request that failed: the gateway answered {"ok":false,...}, or the
 * push port could not be reached or stopped answering (ConnectionException).
 *
 * getError() is the gateway's error code ("not_found", "bad_request",
 * "unauthorized", "timeout", ... see the push port's error table), or for a
 * ConnectionException one of "connect", "closed", "timeout", "bad_reply".
 * getReply() is the decoded reply line when there was one.
 */
class Exception extends \RuntimeException
{
    private string $error;
    private ?array $reply;

    public function __construct(string $error, string $message, ?array $reply = null, ?\Throwable $previous = null)
    {
        parent::__construct("gatecast: $error: $message", 0, $previous);
        $this->error = $error;
        $this->reply = $reply;
    }

    /** The error code, e.g. "not_found". */
    public function getError(): string
    {
        return $this->error;
    }

    /** The reply line as an array, or null when there was none. */
    public function getReply(): ?array
    {
        return $this->reply;
    }
}
