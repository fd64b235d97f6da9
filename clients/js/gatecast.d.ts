// Types for gatecast.js, the browser client of the gatecast push server.
// As a <script>, the class is the global `Gatecast`; with CommonJS or a
// bundler, it is the module itself (see gatecast.d.mts for ES modules).

export = Gatecast;
export as namespace Gatecast;

declare class Gatecast {
  /**
   * Connects at once (after the current task, so listeners added right after
   * `new` see every event). `url` is a ws:/wss: URL, an http(s): or relative
   * URL of the same server (made ws/wss), or a list of them tried in turn
   * after failed attempts. Default: the page's own origin, path `/`.
   */
  constructor(url?: string | string[] | null, options?: Gatecast.Options);

  /** 'connecting' (first attempt), 'open' (logged in), 'reconnecting', 'closed' (stopped). */
  readonly state: Gatecast.State;
  /** The uid of the last login reply, or null. */
  readonly uid: string | null;
  /** This connection's client id (changes on every reconnect), or null. */
  readonly clientId: string | null;
  /** The URL of the current or last connection attempt. */
  readonly url: string;

  on<E extends keyof Gatecast.EventMap>(event: E, fn: Gatecast.EventMap[E]): this;
  off<E extends keyof Gatecast.EventMap>(event: E, fn?: Gatecast.EventMap[E]): this;

  /** Joins now when open, and again after every reconnect. */
  join(group: string | number): this;
  /** Leaves, and no longer joins after reconnects. */
  leave(group: string | number): this;
  /** The groups joined now and after reconnects. */
  groups(): string[];

  /**
   * Sends a protocol message (objects are JSON-encoded, strings sent as they
   * are). While not open it is queued (up to `queueLimit`) and sent after the
   * next login. Returns false when refused: queue full (an 'error' event with
   * error 'queue_full' says so) or the client is closed.
   */
  send(message: object | string): boolean;

  /** Closes for good: no more reconnects; queued messages are dropped. */
  close(code?: number, reason?: string): void;
  /** Connects again after a stop (close(), 4008, 1000, 4001 without getToken). */
  open(): this;

  static readonly version: string;
}

declare namespace Gatecast {
  type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

  interface Options {
    /** A token your backend signed (token mode). Sent in the login message unless tokenIn is 'query'. */
    token?: string;
    /** Demo mode (auth.mode = none): the uid, sent as ?uid=. Ignored when there is a token. */
    uid?: string | number;
    /**
     * Asked for a fresh token when there is none, after the server refused
     * the token (error 'unauthorized' / close 4001), and, with tokenIn
     * 'query', before every reconnect. A rejection is reported as an 'error'
     * event (error 'token') and retried with backoff.
     */
    getToken?: () => string | Promise<string>;
    /** Groups to join on every (re)connect. */
    groups?: Array<string | number>;
    /** Reconnect delay: random in [0, min(max, min·2^attempt)) ms (full jitter). Default {min: 500, max: 30000}. */
    backoff?: { min?: number; max?: number };
    /** App-level {"type":"ping"} every so many ms while open; 0 = never. Default 25000. */
    pingInterval?: number;
    /** No frame within this many ms after a ping: the link is dead, reconnect. Default 10000. */
    pingTimeout?: number;
    /** No login reply within this many ms after dialing: give up on the attempt. Default 10000. */
    connectTimeout?: number;
    /** How many send() calls to keep while not open. Default 100. */
    queueLimit?: number;
    /** A connection open this long resets the backoff. Default 10000 ms. */
    stableAfter?: number;
    /** 'message' (default): {"type":"login","token"} after connecting; 'query': ?token= in the URL. */
    tokenIn?: 'message' | 'query';
    /** A WebSocket class, for environments without a global one (Node < 22). */
    WebSocket?: unknown;
  }

  interface OpenInfo {
    uid: string | null;
    clientId: string | null;
    url: string;
    /** False for the first connection, true after a reconnect. */
    reconnect: boolean;
  }

  interface CloseInfo {
    /** The WebSocket close code; 1006 also for 'ping timeout' and 'connect timeout'. */
    code: number;
    reason: string;
    /** False after close(), 4008, 1000 (close_client), or 4001 without getToken. */
    willReconnect: boolean;
    /** ms until the next attempt, when willReconnect. */
    delay?: number;
    /** True when the page called close(). */
    byPage?: boolean;
  }

  interface ErrorInfo {
    type: 'error';
    /** A server error code (bad_json, unauthorized, forbidden, too_many_groups, rate_limited, …) or a client one: 'token', 'queue_full', 'socket'. */
    error: string;
    message: string;
    /** For forbidden / too_many_groups: the group whose join failed (no longer joined). */
    group?: string;
  }

  interface EventMap {
    /** A pushed message: the parsed JSON when the text is JSON, else the text; ArrayBuffer for binary. `raw` is the frame as received. */
    message: (data: any, raw: string | ArrayBuffer) => void;
    open: (info: OpenInfo) => void;
    close: (info: CloseInfo) => void;
    error: (err: ErrorInfo) => void;
    state: (state: State, previous: State) => void;
  }
}
