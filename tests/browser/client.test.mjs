// Unit tests of clients/js/cardbridge.js against a real cardbridged (with a
// throw-away SoftHSM2 token and the scripted pinentry).  Node.js 20 has no
// global WebSocket: the `ws` package stands in for the browser's, with the
// Origin header a page would send.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const why = H.missing();
const skip = why ? { skip: why } : {};
const ORIGIN = 'https://portal.example';

let WebSocket, cb, hsm, daemon, dir, script;

function wsFor(origin) {
	return class extends WebSocket {
		constructor(url, protocol) {
			super(url, protocol, { origin });
		}
	};
}

function opts(extra = {}) {
	return { port: daemon.port, WebSocket: wsFor(ORIGIN), ...extra };
}

function answerPins(...lines) {
	fs.writeFileSync(script, lines.map((l) => l + '\n').join(''));
}

async function rejects(promise, reason) {
	try {
		await promise;
	} catch (e) {
		assert.ok(e instanceof cb.CardbridgeError, `expected a CardbridgeError, got ${e}`);
		assert.equal(e.reason, reason, `reason (message: ${e.message})`);
		return e;
	}
	assert.fail(`expected ${reason}, the call succeeded`);
}

before(async () => {
	if (why)
		return;
	WebSocket = (await import('ws')).default;
	cb = await import(H.CLIENT_URL);
	dir = H.tmpdir('cb-js-client-');
	hsm = H.makeSoftHSM(['cardbridge demo']);
	script = path.join(dir, 'pinentry-script');
	answerPins();
	// An administrator's strict allow-list: origins not on it are refused in the handshake.
	daemon = await H.startDaemon({ origins: [ORIGIN], config: { unknownOrigins: 'refuse' },
		env: { ...hsm.env, CB_PINENTRY_SCRIPT: script } });
});

after(async () => {
	await daemon?.stop();
	hsm?.cleanup();
	if (dir)
		fs.rmSync(dir, { recursive: true, force: true });
});

async function firstToken(client) {
	const tokens = await client.listTokens();
	const t = tokens.find((x) => x.label === 'cardbridge demo');
	assert.ok(t, 'the SoftHSM token is listed');
	return t;
}

test('connect opens the socket with subprotocol cardbridge.v1 and checks system.hello', skip, async () => {
	const client = await cb.connect(opts());
	try {
		assert.equal(client.connected, true);
		assert.equal(client.url, `ws://127.0.0.1:${daemon.port}/`);
		assert.equal(client.helper.name, 'cardbridge');
		assert.equal(client.helper.protocol, 1);
		assert.ok(client.helper.methods.includes('keys.generate'));
		const hello = await client.hello();
		assert.equal(hello.version, client.helper.version);
	} finally {
		client.close();
	}
});

test('nothing listening: NOT_RUNNING, told apart from a refusal', skip, async () => {
	const port = await H.freePort();
	const e = await rejects(cb.connect({ port, WebSocket: wsFor(ORIGIN) }), 'NOT_RUNNING');
	assert.equal(e.code, null);
	assert.equal(e.details.helperAnswersHttp, false);
	assert.equal(e.details.closeCode, 1006);
	assert.equal(e.details.permission, 'not-applicable');
	assert.match(e.message, /not running/);
});

test('origin not in the allow-list: ORIGIN_NOT_ALLOWED (the helper answers, but refuses)', skip, async () => {
	const e = await rejects(cb.connect(opts({ WebSocket: wsFor('https://evil.example') })), 'ORIGIN_NOT_ALLOWED');
	assert.equal(e.details.helperAnswersHttp, true);
	assert.equal(e.details.evidence, 'http-probe');
});

test('launch: the launcher opens cardbridge://start, the helper starts, the client connects', skip, async () => {
	const port = await H.freePort();
	const launched = [];
	let started = null;
	const statuses = [];
	const client = await cb.connect({
		port, launch: true, launchTimeout: 20000, WebSocket: wsFor(ORIGIN),
		launcher: (url) => {
			launched.push(url);
			started = H.startDaemon({ origins: [ORIGIN], port, env: hsm.env });
		},
		onStatus: (s) => statuses.push(s.state),
	});
	try {
		assert.deepEqual(launched, ['cardbridge://start']);
		assert.equal(client.helper.name, 'cardbridge');
		assert.ok(statuses.includes('launching'), statuses.join(','));
		assert.equal(statuses.at(-1), 'connected');
	} finally {
		client.close();
		await (await started)?.stop();
	}
});

test('launch: a helper that never starts ends in NOT_RUNNING with launched: true', skip, async () => {
	const port = await H.freePort();
	let calls = 0;
	const e = await rejects(cb.connect({
		port, launch: true, launchTimeout: 1500, WebSocket: wsFor(ORIGIN),
		launcher: () => { calls++; },
	}), 'NOT_RUNNING');
	assert.equal(calls, 1);
	assert.equal(e.details.launched, true);
	assert.match(e.message, /did not start/);
});

test('listTokens returns the token with its PIN flags and key types', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		assert.match(t.uri, /^pkcs11:.*token=cardbridge%20demo/);
		assert.equal(t.flags.pinLocked, false);
		const rsa = t.keyTypes.find((k) => k.type === 'RSA');
		assert.ok(rsa && rsa.bits.includes(2048));
	} finally {
		client.close();
	}
});

test('generateKeyPair: PIN from the dialog, a CSR that openssl verifies, the key on the token', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins(`pin ${H.PIN}`);
		const r = await client.generateKeyPair({
			token: t.uri, algorithm: { type: 'EC', curve: 'P-256' }, label: 'js client test',
			subject: { CN: 'Jane Client', C: 'PL' },
		});
		assert.match(r.keyId, /^[0-9a-f]{2,}$/);
		const csrFile = path.join(dir, 'gen.csr');
		fs.writeFileSync(csrFile, r.csr);
		const v = H.run('openssl', ['req', '-in', csrFile, '-verify', '-noout', '-subject']);
		assert.match(v.stdout + v.stderr, /verify OK/i);
		assert.match(v.stdout, /CN\s*=\s*Jane Client/);
		const keys = hsm.objects('cardbridge demo').filter((o) => o.kind === 'Private Key' && o.id === r.keyId);
		assert.equal(keys.length, 1, 'one private key with the returned id');
	} finally {
		client.close();
	}
});

test('errors are typed: PIN_INCORRECT, USER_CANCELLED, INVALID_PARAMS, UNSUPPORTED_ALGORITHM carry reason and code', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		const alg = { type: 'EC', curve: 'P-256' };
		// The helper asks again after a wrong PIN: the third wrong one ends the request.
		answerPins('pin 000000', 'pin 000000', 'pin 000000');
		const wrong = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg }), 'PIN_INCORRECT');
		assert.equal(wrong.code, -32005);
		assert.equal(wrong.method, 'keys.generate');
		assert.equal(wrong.fromHelper, true);
		assert.ok(wrong.retriesLeft === null || Number.isInteger(wrong.retriesLeft));
		answerPins('cancel');
		const cancelled = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg }), 'USER_CANCELLED');
		assert.equal(cancelled.code, -32004);
		const bad = await rejects(client.generateKeyPair({ token: t.uri, algorithm: alg, subject: { C: 'POL' } }), 'INVALID_PARAMS');
		assert.equal(bad.code, -32602);
		assert.match(bad.message, /C/);
		const weak = await rejects(client.generateKeyPair({ token: t.uri, algorithm: { type: 'RSA', bits: 1024 } }), 'UNSUPPORTED_ALGORITHM');
		assert.equal(weak.code, -32011);
		await rejects(client.call('no.such.method'), 'METHOD_NOT_FOUND');
		await assert.rejects(client.generateKeyPair({ algorithm: alg }), TypeError);
	} finally {
		client.close();
	}
});

test('installCertificate and listCertificates: the issued certificate lands next to its key', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins(`pin ${H.PIN}`, `pin ${H.PIN}`);
		const k = await client.generateKeyPair({
			token: t.uri, algorithm: { type: 'RSA', bits: 2048 }, subject: { CN: 'Joe Install' },
		});
		const { cert } = H.signWithTestCA(dir, k.csr);
		const r = await client.installCertificate({ certificate: cert, token: t.uri });
		assert.equal(r.keyId, k.keyId);
		assert.equal(r.installed.length, 1);
		assert.match(r.installed[0].subject, /Joe Install/);
		const again = await client.installCertificate({ certificate: cert, token: t.uri });
		assert.equal(again.installed.length, 0);
		assert.equal(again.alreadyPresent.length, 1);
		const certs = await client.listCertificates({ token: t.uri });
		const mine = certs.find((c) => c.keyId === k.keyId);
		assert.ok(mine, 'certificates.list shows it');
		assert.equal(mine.hasPrivateKey, true);
	} finally {
		client.close();
	}
});

test('a request that outlives its timeout fails with REQUEST_TIMEOUT; the client goes on', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const t = await firstToken(client);
		answerPins('hang');
		const e = await rejects(client.generateKeyPair(
			{ token: t.uri, algorithm: { type: 'EC', curve: 'P-256' } }, { timeout: 500 }), 'REQUEST_TIMEOUT');
		assert.equal(e.method, 'keys.generate');
		assert.equal(e.code, null);
		const hello = await client.hello();
		assert.equal(hello.name, 'cardbridge');
	} finally {
		client.close();
	}
});

test('an aborted request fails with ABORTED', skip, async () => {
	const client = await cb.connect(opts());
	try {
		const ctl = new AbortController();
		ctl.abort();
		await rejects(client.hello({ signal: ctl.signal }), 'ABORTED');
	} finally {
		client.close();
	}
});

test('close() fails what is in flight with CLOSED and refuses new calls', skip, async () => {
	const client = await cb.connect(opts());
	const t = await firstToken(client);
	answerPins('hang');
	const pending = client.generateKeyPair({ token: t.uri, algorithm: { type: 'EC', curve: 'P-256' } });
	const closes = [];
	client.on('close', (c) => closes.push(c));
	client.close();
	await rejects(pending, 'CLOSED');
	await rejects(client.hello(), 'CLOSED');
	assert.equal(client.connected, false);
	assert.deepEqual(closes.map((c) => c.byUser), [true]);
});

test('reconnect on demand after the helper closed an idle connection', skip, async () => {
	const d2 = await H.startDaemon({
		origins: [ORIGIN], env: hsm.env,
		config: { limits: { idleTimeoutSeconds: 1 } },
	});
	const client = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN) });
	try {
		const closed = new Promise((resolve) => client.once('close', resolve));
		const info = await closed;
		assert.equal(info.byUser, false);
		assert.equal(client.connected, false);
		let reopened = 0;
		client.on('open', () => reopened++);
		const tokens = await client.listTokens();
		assert.ok(Array.isArray(tokens));
		assert.equal(client.connected, true);
		assert.equal(reopened, 1);
	} finally {
		client.close();
		await d2.stop();
	}
});

test('subscribe uses events.subscribe, and a subscribed connection is not closed as idle', skip, async () => {
	const d2 = await H.startDaemon({
		origins: [ORIGIN], env: hsm.env,
		config: { limits: { idleTimeoutSeconds: 1 } },
	});
	const client = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN), pollInterval: 200 });
	const idle = await cb.connect({ port: d2.port, WebSocket: wsFor(ORIGIN) });
	try {
		const closes = [];
		client.on('close', (c) => closes.push(c));
		const idleClosed = new Promise((resolve) => idle.once('close', resolve));
		const sub = await client.subscribe();
		assert.equal(sub.mode, 'events');
		await idleClosed;	// the other connection was idle for the same time
		assert.deepEqual(closes, []);
		assert.equal(client.connected, true);
		await client.unsubscribe();
	} finally {
		client.close();
		idle.close();
		await d2.stop();
	}
});
