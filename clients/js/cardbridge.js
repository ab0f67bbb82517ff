// cardbridge.js - the browser client of cardbridge, the local smart-card helper.
//
// A dependency-free ES module.  It speaks doc/PROTOCOL.md (JSON-RPC 2.0 over
// ws://127.0.0.1:48801/, subprotocol "cardbridge.v1") and adds what every
// portal needs around it: starting the helper through cardbridge://start,
// telling "not installed / not running" from "blocked by the browser's local
// network access permission", typed errors, per-request timeouts, card
// events, and reconnecting when the helper closed an idle connection.
//
//   import { connect } from './cardbridge.js';
//   button.onclick = async () => {               // from a click: see README
//     const cb = await connect({ launch: true });
//     const tokens = await cb.listTokens();
//   };
//
// It runs in browsers and in Node.js (pass `WebSocket` where there is no
// global one).  See README.md beside this file.

export const SUBPROTOCOL = 'cardbridge.v1';
export const DEFAULT_PORT = 48801;
export const LAUNCH_URL = 'cardbridge://start';

// The version, the protocol's reasons, methods, timeouts and card events,
// generated from the daemon's own table at build time (protocol/cb-contract).
import {
	VERSION, PROTOCOL_REASONS, DEFAULT_TIMEOUTS, METHODS, CARD_EVENTS, PROGRESS_STAGES,
} from './contract.js';
export { VERSION, PROTOCOL_REASONS, DEFAULT_TIMEOUTS, METHODS, CARD_EVENTS, PROGRESS_STAGES };

/**
 * Reasons raised by this library itself (they have no protocol `code`).
 * ORIGIN_NOT_ALLOWED is also used when the helper refused the handshake.
 */
export const CLIENT_REASONS = Object.freeze({
	NOT_RUNNING: 'NOT_RUNNING',
	LOCAL_NETWORK_ACCESS_DENIED: 'LOCAL_NETWORK_ACCESS_DENIED',
	ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
	CONNECTION_LOST: 'CONNECTION_LOST',
	REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
	ABORTED: 'ABORTED',
	CLOSED: 'CLOSED',
	NOT_SUPPORTED: 'NOT_SUPPORTED',
	PROTOCOL_ERROR: 'PROTOCOL_ERROR',
});

// A refused TCP connection to loopback fails in a few ms; Chromium's local
// network access denial comes later (about 15 ms headless, or when the user
// answers the prompt).  Used only when the permission state is "prompt".
const LNA_MIN_MS = 8;

/** Every failure of this library is a CardbridgeError. */
export class CardbridgeError extends Error {
	/**
	 * @param {string} reason  stable reason (PROTOCOL_REASONS or CLIENT_REASONS)
	 * @param {string} message English text for developers and logs
	 * @param {object} [extra] {code, retriesLeft, maybeStored, method, details, cause}
	 */
	constructor(reason, message, extra = {}) {
		super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
		this.name = 'CardbridgeError';
		this.reason = reason;
		this.code = extra.code ?? null;
		this.retriesLeft = extra.retriesLeft ?? null;
		// certificates.install: the write failed, but the card may hold the certificate.
		this.maybeStored = extra.maybeStored === true;
		this.method = extra.method ?? null;
		this.details = extra.details ?? null;
	}

	/** True when the error came from the helper (it has a protocol code). */
	get fromHelper() {
		return this.code !== null;
	}

	static fromRpc(error, method) {
		const data = error && typeof error.data === 'object' && error.data ? error.data : {};
		const code = typeof error?.code === 'number' ? error.code : null;
		const reason = typeof data.reason === 'string' ? data.reason
			: (PROTOCOL_REASONS[code] || 'INTERNAL_ERROR');
		const message = typeof error?.message === 'string' && error.message ? error.message : reason;
		return new CardbridgeError(reason, message, {
			code,
			retriesLeft: Number.isInteger(data.retriesLeft) ? data.retriesLeft : null,
			maybeStored: data.maybeStored === true,
			method,
		});
	}
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => (globalThis.performance ? performance.now() : Date.now());

function isLoopbackHost(host) {
	const h = String(host || '').toLowerCase();
	return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || h === '::1' ||
		/^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Where the page runs: true when no browser permission applies to loopback. */
function pageIsLocal() {
	const loc = globalThis.location;
	if (!loc || !loc.hostname)
		return true;		// Node.js, workers without location: no LNA
	return isLoopbackHost(loc.hostname);
}

/**
 * The page's local-network-access permission: 'granted', 'denied', 'prompt'
 * or 'unsupported'.  Chromium 142+ knows 'loopback-network' (and the older
 * umbrella name 'local-network-access'); other browsers throw a TypeError.
 */
export async function localNetworkPermission() {
	const perms = globalThis.navigator?.permissions;
	if (!perms || typeof perms.query !== 'function')
		return 'unsupported';
	for (const name of ['loopback-network', 'local-network-access']) {
		try {
			const status = await perms.query({ name });
			if (status && typeof status.state === 'string')
				return status.state;
		} catch {
			// unknown permission name in this browser: try the next
		}
	}
	return 'unsupported';
}

/** A tiny event emitter (no dependency, same in browsers and Node.js). */
class Emitter {
	#handlers = new Map();

	on(type, fn) {
		if (typeof fn !== 'function')
			throw new TypeError('listener must be a function');
		if (!this.#handlers.has(type))
			this.#handlers.set(type, new Set());
		this.#handlers.get(type).add(fn);
		return () => this.off(type, fn);
	}

	once(type, fn) {
		const off = this.on(type, (...args) => {
			off();
			fn(...args);
		});
		return off;
	}

	off(type, fn) {
		this.#handlers.get(type)?.delete(fn);
	}

	emit(type, ...args) {
		const set = this.#handlers.get(type);
		if (!set)
			return;
		for (const fn of [...set]) {
			try {
				fn(...args);
			} catch (e) {
				// A listener's bug must not break the client.
				setTimeout(() => { throw e; });
			}
		}
	}
}

/**
 * One connection to the helper.  Create it with connect(); methods reconnect
 * on demand when the helper closed an idle connection.
 */
export class CardbridgeClient extends Emitter {
	#opts;
	#ws = null;
	#opening = null;
	#nextId = 1;
	#pending = new Map();
	#closedByUser = false;
	#helper = null;
	#subscription = null;	// {mode, timer, tokens}

	/** @param {ConnectOptions} options */
	constructor(options = {}) {
		super();
		const port = options.port ?? DEFAULT_PORT;
		if (!Number.isInteger(port) || port < 1 || port > 65535)
			throw new TypeError('port must be an integer from 1 to 65535');
		const host = options.host ?? '127.0.0.1';
		if (!isLoopbackHost(host))
			throw new TypeError('host must be a loopback name: 127.0.0.1, [::1] or localhost');
		this.#opts = {
			port,
			host,
			launch: !!options.launch,
			launchUrl: options.launchUrl ?? LAUNCH_URL,
			launchTimeout: options.launchTimeout ?? 20000,
			connectTimeout: options.connectTimeout ?? 60000,
			requestTimeout: options.requestTimeout ?? null,
			pollInterval: options.pollInterval ?? 3000,
			WebSocket: options.WebSocket ?? globalThis.WebSocket,
			launcher: options.launcher ?? defaultLauncher,
			onStatus: typeof options.onStatus === 'function' ? options.onStatus : null,
		};
	}

	/** ws://host:port/ */
	get url() {
		return `ws://${this.#opts.host}:${this.#opts.port}/`;
	}

	/** True while the WebSocket is open. */
	get connected() {
		return !!this.#ws && this.#ws.readyState === 1;
	}

	/** The system.hello result of the current connection (name, version, methods...). */
	get helper() {
		return this.#helper;
	}

	// --- connecting ----------------------------------------------------------

	#status(state, extra = {}) {
		const s = { state, ...extra };
		this.emit('status', s);
		try {
			this.#opts.onStatus?.(s);
		} catch {
			// ignore the page's bug
		}
	}

	/**
	 * One WebSocket attempt.  Resolves with the open socket, or rejects with
	 * {failed: true, code, elapsed, opened}.
	 */
	#attempt(timeoutMs) {
		const WS = this.#opts.WebSocket;
		return new Promise((resolve, reject) => {
			const t0 = now();
			let ws;
			try {
				ws = new WS(this.url, SUBPROTOCOL);
			} catch (e) {
				reject({ failed: true, thrown: e, elapsed: now() - t0 });
				return;
			}
			let done = false;
			let permissionHint = null;
			const finish = (fn, arg) => {
				if (done)
					return;
				done = true;
				clearTimeout(timer);
				clearTimeout(permissionHint);
				ws.onopen = ws.onclose = ws.onerror = null;
				fn(arg);
			};
			const timer = setTimeout(() => {
				try {
					ws.close();
				} catch {
					// not open yet
				}
				finish(reject, { failed: true, timedOut: true, elapsed: now() - t0 });
			}, timeoutMs);
			// Chrome holds the handshake while it asks the user; say so.
			if (!pageIsLocal()) {
				permissionHint = setTimeout(async () => {
					if (!done && await localNetworkPermission() === 'prompt')
						this.#status('permission-prompt');
				}, 800);
			}
			ws.onopen = () => finish(resolve, ws);
			ws.onerror = () => {};
			ws.onclose = (e) => finish(reject, { failed: true, code: e.code, elapsed: now() - t0 });
		});
	}

	/** Does anything answer plain HTTP on the helper's port? */
	async #probe() {
		if (typeof globalThis.fetch !== 'function')
			return false;
		const ctl = typeof AbortController === 'function' ? new AbortController() : null;
		const t = setTimeout(() => ctl?.abort(), 3000);
		try {
			await fetch(`http://${this.#opts.host}:${this.#opts.port}/`, {
				mode: 'no-cors', cache: 'no-store', credentials: 'omit',
				signal: ctl?.signal,
			});
			return true;
		} catch {
			return false;
		} finally {
			clearTimeout(t);
		}
	}

	/** Why did the connection fail?  Returns a CardbridgeError (not thrown). */
	async #diagnose(failure) {
		const details = {
			url: this.url,
			closeCode: failure.code ?? null,
			elapsedMs: Math.round(failure.elapsed ?? 0),
			pageIsLocal: pageIsLocal(),
			permission: 'not-applicable',
			helperAnswersHttp: false,
			evidence: null,
		};
		if (failure.thrown) {
			details.evidence = 'constructor';
			return new CardbridgeError('NOT_SUPPORTED',
				`the browser refused to open ${this.url}: ${failure.thrown.message}`,
				{ details, cause: failure.thrown });
		}
		if (!details.pageIsLocal)
			details.permission = await localNetworkPermission();
		if (details.permission === 'denied') {
			details.evidence = 'permission';
			return lnaError(details);
		}
		details.helperAnswersHttp = await this.#probe();
		if (details.helperAnswersHttp) {
			// It may have started between the two: try once more before saying so.
			try {
				const ws = await this.#attempt(this.#opts.connectTimeout);
				return ws;
			} catch (again) {
				details.closeCode = again.code ?? details.closeCode;
			}
			details.evidence = 'http-probe';
			return new CardbridgeError('ORIGIN_NOT_ALLOWED',
				'cardbridge is running but refused this page: its origin is not in the ' +
				'helper\'s allowed origins (or the helper is at its connection limit)',
				{ details });
		}
		if (details.permission === 'prompt') {
			// The browser has not been told yes: a denial without a prompt
			// (no user gesture, headless, dismissed) looks like a refused
			// connection, only later.  Take the faster of two tries.
			let elapsed = failure.elapsed ?? 0;
			if (elapsed >= LNA_MIN_MS) {
				try {
					const ws = await this.#attempt(this.#opts.connectTimeout);
					return ws;
				} catch (again) {
					elapsed = Math.min(elapsed, again.elapsed ?? elapsed);
				}
			}
			details.elapsedMs = Math.round(elapsed);
			if (failure.timedOut || elapsed >= LNA_MIN_MS) {
				details.evidence = 'timing';
				return lnaError(details);
			}
		}
		details.evidence = details.permission === 'granted' || details.permission === 'not-applicable'
			? 'refused' : 'refused-fast';
		return new CardbridgeError('NOT_RUNNING',
			`cardbridge is not running on ${this.url} (connection refused): it is not ` +
			'installed, or not started',
			{ details });
	}

	/** Set up a freshly opened socket; checks it is cardbridge with system.hello. */
	async #adopt(ws) {
		if (ws.protocol !== undefined && ws.protocol !== SUBPROTOCOL) {
			ws.close();
			throw new CardbridgeError('PROTOCOL_ERROR',
				`the server on ${this.url} did not accept subprotocol ${SUBPROTOCOL}`);
		}
		this.#ws = ws;
		ws.onmessage = (e) => this.#onMessage(e.data);
		ws.onerror = () => {};
		ws.onclose = (e) => this.#onClose(ws, e);
		let hello;
		try {
			hello = await this.call('system.hello', undefined, { timeout: DEFAULT_TIMEOUTS['system.hello'] });
		} catch (e) {
			if (this.#ws === ws) {
				this.#ws = null;
				ws.close();
			}
			throw e;
		}
		if (!hello || hello.name !== 'cardbridge' || hello.protocol !== 1) {
			this.#ws = null;
			ws.close();
			throw new CardbridgeError('PROTOCOL_ERROR',
				`the server on ${this.url} is not a cardbridge helper speaking protocol 1`);
		}
		this.#helper = hello;
		this.#status('connected', { helper: hello });
		this.emit('open', hello);
		return hello;
	}

	/**
	 * Connect (used by connect()).  With launch, a failed first attempt opens
	 * cardbridge://start and retries with backoff for up to launchTimeout.
	 */
	async open({ launch = this.#opts.launch } = {}) {
		if (this.connected)
			return this.#helper;
		if (this.#opening)
			return this.#opening;
		if (typeof this.#opts.WebSocket !== 'function')
			throw new CardbridgeError('NOT_SUPPORTED', 'this browser has no WebSocket');
		this.#closedByUser = false;
		this.#opening = this.#open(launch).finally(() => {
			this.#opening = null;
		});
		return this.#opening;
	}

	async #open(launch) {
		this.#status('connecting');
		let ws;
		try {
			ws = await this.#attempt(this.#opts.connectTimeout);
		} catch (failure) {
			const d = await this.#diagnose(failure);
			if (!(d instanceof CardbridgeError))
				ws = d;
			else if (d.reason !== 'NOT_RUNNING' || !launch) {
				this.#status('failed', { error: d });
				throw d;
			} else
				ws = await this.#launchAndWait(d);
		}
		return this.#adopt(ws);
	}

	async #launchAndWait(first) {
		const started = now();
		this.#status('launching', { url: this.#opts.launchUrl });
		try {
			this.#opts.launcher(this.#opts.launchUrl);
		} catch (e) {
			first.details.launchError = String(e?.message ?? e);
		}
		first.details.launched = true;
		let delay = 250;
		let attempt = 0;
		for (;;) {
			const left = this.#opts.launchTimeout - (now() - started);
			if (left <= 0)
				break;
			await sleep(Math.min(delay, left));
			delay = Math.min(delay * 2, 2000);
			attempt++;
			this.#status('retrying', { attempt });
			try {
				return await this.#attempt(Math.max(1000, Math.min(this.#opts.connectTimeout,
					this.#opts.launchTimeout - (now() - started))));
			} catch (failure) {
				if (this.#closedByUser)
					throw new CardbridgeError('CLOSED', 'close() was called while connecting');
				// The helper may be up but refusing this origin: stop waiting.
				if (await this.#probe()) {
					const d = await this.#diagnose(failure);
					if (!(d instanceof CardbridgeError))
						return d;
					if (d.reason !== 'NOT_RUNNING') {
						d.details.launched = true;
						this.#status('failed', { error: d });
						throw d;
					}
				}
			}
		}
		const err = new CardbridgeError('NOT_RUNNING',
			`cardbridge did not start within ${Math.round(this.#opts.launchTimeout / 1000)} s of ` +
			`opening ${this.#opts.launchUrl}: it is probably not installed (or the user ` +
			'did not allow the browser to open it)',
			{ details: { ...first.details, launched: true } });
		this.#status('failed', { error: err });
		throw err;
	}

	async #ensureOpen() {
		if (this.connected)
			return;
		if (this.#closedByUser)
			throw new CardbridgeError('CLOSED', 'the connection was closed with close()');
		await this.open({ launch: false });
	}

	// --- messages ------------------------------------------------------------

	#onMessage(data) {
		let msg;
		try {
			msg = JSON.parse(typeof data === 'string' ? data : String(data));
		} catch {
			this.emit('protocolError', new CardbridgeError('PROTOCOL_ERROR', 'the helper sent invalid JSON'));
			return;
		}
		if (msg && msg.method === 'event' && msg.id === undefined) {
			const ev = msg.params && typeof msg.params === 'object' ? msg.params : {};
			this.emit('event', ev);
			if (typeof ev.type === 'string')
				this.emit(ev.type, ev);
			return;
		}
		const p = msg ? this.#pending.get(msg.id) : undefined;
		if (!p) {
			if (msg && msg.error && (msg.id === null || msg.id === undefined))
				this.emit('protocolError', CardbridgeError.fromRpc(msg.error, null));
			return;	// an answer after its request timed out
		}
		this.#settle(msg.id);
		if (msg.error)
			p.reject(CardbridgeError.fromRpc(msg.error, p.method));
		else
			p.resolve(msg.result);
	}

	#settle(id) {
		const p = this.#pending.get(id);
		if (!p)
			return;
		this.#pending.delete(id);
		clearTimeout(p.timer);
		p.cleanup?.();
	}

	#onClose(ws, e) {
		if (this.#ws !== ws)
			return;
		this.#ws = null;
		const byUser = this.#closedByUser;
		for (const [id, p] of [...this.#pending]) {
			this.#settle(id);
			p.reject(byUser
				? new CardbridgeError('CLOSED', 'the connection was closed with close()', { method: p.method })
				: new CardbridgeError('CONNECTION_LOST',
					`the connection to cardbridge closed (code ${e.code}) before it answered ${p.method}`,
					{ method: p.method, details: { closeCode: e.code } }));
		}
		this.#status('disconnected', { code: e.code, byUser });
		this.emit('close', { code: e.code, reason: e.reason || '', byUser });
	}

	/**
	 * Send any protocol method.  Reconnects first when the helper closed an
	 * idle connection.
	 * @param {string} method
	 * @param {object} [params]
	 * @param {{timeout?: number, signal?: AbortSignal}} [opts]
	 */
	async call(method, params, opts = {}) {
		await this.#ensureOpen();
		const ws = this.#ws;
		if (this.#closedByUser)
			throw new CardbridgeError('CLOSED', 'the connection was closed with close()', { method });
		if (!ws)
			throw new CardbridgeError('CONNECTION_LOST', 'not connected to cardbridge', { method });
		const id = this.#nextId++;
		const timeout = opts.timeout ?? (typeof this.#opts.requestTimeout === 'number'
			? this.#opts.requestTimeout
			: DEFAULT_TIMEOUTS[method] ?? DEFAULT_TIMEOUTS.default);
		const msg = { jsonrpc: '2.0', id, method };
		if (params !== undefined)
			msg.params = params;
		return new Promise((resolve, reject) => {
			if (opts.signal?.aborted) {
				reject(new CardbridgeError('ABORTED', `${method} was aborted`, { method }));
				return;
			}
			const entry = { method, resolve, reject, timer: null, cleanup: null };
			entry.timer = setTimeout(() => {
				this.#settle(id);
				reject(new CardbridgeError('REQUEST_TIMEOUT',
					`cardbridge did not answer ${method} within ${Math.round(timeout / 1000)} s`,
					{ method }));
			}, timeout);
			if (opts.signal) {
				const onAbort = () => {
					this.#settle(id);
					reject(new CardbridgeError('ABORTED', `${method} was aborted`, { method }));
				};
				opts.signal.addEventListener('abort', onAbort, { once: true });
				entry.cleanup = () => opts.signal.removeEventListener('abort', onAbort);
			}
			this.#pending.set(id, entry);
			try {
				ws.send(JSON.stringify(msg));
			} catch (e) {
				this.#settle(id);
				reject(new CardbridgeError('CONNECTION_LOST', `could not send ${method}: ${e.message}`,
					{ method, cause: e }));
			}
		});
	}

	// --- the protocol's methods -----------------------------------------------

	/** system.hello: {name, version, protocol, methods, modules}. */
	async hello(opts) {
		const r = await this.call('system.hello', undefined, opts);
		this.#helper = r;
		return r;
	}

	/**
	 * tokens.list: the array of tokens; its waitingCards property lists the
	 * cards whose PKCS#11 module cannot serve them (module by ATR), with why.
	 */
	async listTokens(opts) {
		const r = await this.call('tokens.list', undefined, opts);
		Object.defineProperty(r.tokens, 'waitingCards', { value: r.waitingCards || [], enumerable: false });
		return r.tokens;
	}

	/**
	 * keys.generate: {keyId, publicKey, csr}.  The user types the PIN in the
	 * helper's dialog, so this may take minutes.
	 * @param {{token: string, algorithm: object, label?: string, subject?: object, overwrite?: boolean}} params
	 */
	async generateKeyPair(params, opts) {
		requireObject(params, 'generateKeyPair', ['token', 'algorithm']);
		return this.call('keys.generate', params, opts);
	}

	/**
	 * certificates.install: {token, keyId, installed, alreadyPresent, notStored}.
	 * @param {{certificate: string, token?: string, chain?: string[], label?: string, allowExpired?: boolean}} params
	 */
	async installCertificate(params, opts) {
		requireObject(params, 'installCertificate', ['certificate']);
		return this.call('certificates.install', params, opts);
	}

	/** certificates.list: the array of certificates, of one token or of all. */
	async listCertificates(params, opts) {
		const r = await this.call('certificates.list', params && params.token ? { token: params.token } : undefined, opts);
		return r.certificates;
	}

	/**
	 * Ask for card events (readerAdded, readerRemoved, cardInserted,
	 * cardRemoved, tokensChanged), delivered as client events of those names
	 * and as 'event'.  Uses events.subscribe where the helper has it; else
	 * it watches tokens.list every pollInterval ms and emits cardInserted,
	 * cardRemoved and tokensChanged (with synthetic: true).
	 * @returns {Promise<{mode: 'events'|'polling'}>}
	 */
	async subscribe() {
		if (this.#subscription)
			return { mode: this.#subscription.mode };
		const sub = { mode: 'events', timer: null, tokens: null, busy: false };
		this.#subscription = sub;
		try {
			await this.#startSubscription(sub);
		} catch (e) {
			this.#subscription = null;
			throw e;
		}
		const tick = async () => {
			if (this.#subscription !== sub || sub.busy)
				return;
			sub.busy = true;
			try {
				if (sub.mode === 'polling')
					await this.#poll(sub);
				else if (!this.connected)
					await this.#startSubscription(sub);	// reconnect, subscribe again
			} catch (e) {
				this.emit('subscriptionError', e);
			} finally {
				sub.busy = false;
			}
		};
		sub.timer = setInterval(tick, this.#opts.pollInterval);
		return { mode: sub.mode };
	}

	async #startSubscription(sub) {
		try {
			await this.call('events.subscribe');
			sub.mode = 'events';
			return;
		} catch (e) {
			if (!(e instanceof CardbridgeError) || e.reason !== 'METHOD_NOT_FOUND')
				throw e;
		}
		sub.mode = 'polling';
		if (sub.tokens === null)
			sub.tokens = await this.listTokens();
	}

	async #poll(sub) {
		const tokens = await this.listTokens();
		const before = new Map((sub.tokens ?? []).map((t) => [t.uri, t]));
		const after = new Map(tokens.map((t) => [t.uri, t]));
		const changed = JSON.stringify(sub.tokens) !== JSON.stringify(tokens);
		sub.tokens = tokens;
		if (!changed)
			return;
		const emitEv = (ev) => {
			this.emit('event', ev);
			this.emit(ev.type, ev);
		};
		for (const [uri, t] of before)
			if (!after.has(uri))
				emitEv({ type: 'cardRemoved', token: uri, reader: t.reader, label: t.label, synthetic: true });
		for (const [uri, t] of after)
			if (!before.has(uri))
				emitEv({ type: 'cardInserted', token: uri, reader: t.reader, label: t.label, synthetic: true });
		emitEv({ type: 'tokensChanged', tokens, synthetic: true });
	}

	/** Stop card events. */
	async unsubscribe() {
		const sub = this.#subscription;
		if (!sub)
			return;
		this.#subscription = null;
		clearInterval(sub.timer);
		if (sub.mode === 'events' && this.connected) {
			try {
				await this.call('events.unsubscribe');
			} catch {
				// closing anyway
			}
		}
	}

	/** Close the connection; requests in flight fail with CLOSED. */
	close() {
		this.#closedByUser = true;
		if (this.#subscription) {
			clearInterval(this.#subscription.timer);
			this.#subscription = null;
		}
		const ws = this.#ws;
		if (!ws)
			return;
		try {
			ws.close(1000, 'bye');
		} catch {
			// already closing
		}
		// Fail what is pending now; the close event may come later.
		this.#onClose(ws, { code: 1000, reason: 'bye' });
	}
}

function requireObject(params, fn, keys) {
	if (!params || typeof params !== 'object')
		throw new TypeError(`${fn}: params must be an object`);
	for (const k of keys)
		if (params[k] === undefined || params[k] === null || params[k] === '')
			throw new TypeError(`${fn}: params.${k} is required`);
}

function lnaError(details) {
	return new CardbridgeError('LOCAL_NETWORK_ACCESS_DENIED',
		'the browser blocked this page from connecting to cardbridge on this device: the ' +
		'local network access permission ("Access other apps and services on this device") ' +
		`is ${details.permission === 'denied' ? 'denied' : 'not granted'} for this site`,
		{ details });
}

/** Opens cardbridge://start without leaving the page. */
function defaultLauncher(url) {
	const doc = globalThis.document;
	if (!doc)
		throw new Error('no document to open ' + url + ' from');
	const a = doc.createElement('a');
	a.href = url;
	a.rel = 'noopener';
	a.style.display = 'none';
	doc.body.appendChild(a);
	try {
		a.click();
	} finally {
		a.remove();
	}
}

/**
 * Connect to the helper.  Call it from a click when the page is public: the
 * browser may ask the user for the local network access permission, and
 * opening cardbridge://start needs a user gesture.
 * @param {ConnectOptions} [options]
 * @returns {Promise<CardbridgeClient>}
 */
export async function connect(options = {}) {
	const client = new CardbridgeClient(options);
	await client.open();
	return client;
}

export default { connect, CardbridgeClient, CardbridgeError, localNetworkPermission };
