<?php

declare(strict_types=1);

namespace Gatecast;

/**
 * The push port could not be used. getError() says how far the request got:
 *
 *   "connect"   no connection could be opened: nothing was sent, retrying is safe;
 *   "closed"    the connection closed before the reply;
 *   "timeout"   no reply within the timeout;
 *   "bad_reply" a reply line that is not a JSON object.
 *
 * For "closed" and "timeout" the outcome of the request is unknown, as with
 * the gateway's own "timeout" error: a send may have been delivered.
 */
class ConnectionException extends Exception
{
}
