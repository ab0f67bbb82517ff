// Demo Trust Center: the certificate-activation wizard, on the cardbridge
// client library only (served at ./lib/ from clients/js/).
import { connect, CardbridgeError } from './lib/cardbridge.js';

const $ = (sel) => document.querySelector(sel);
const STEPS = ['connect', 'token', 'generate', 'ca', 'install', 'done'];

const state = {
	helperPort: 48801,
	client: null,
	tokens: [],
	token: null,		// uri of the chosen token
	keygen: null,		// {keyId, publicKey, csr}
	issued: null,		// {certificate, chain, summary}
	installed: null,
};

// --- small DOM helpers ----------------------------------------------------------

function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			e.className = v;
		else if (k === 'dataset')
			Object.assign(e.dataset, v);
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat())
		if (c !== null && c !== undefined && c !== false)
			e.append(c instanceof Node ? c : document.createTextNode(String(c)));
	return e;
}

function showStep(name) {
	const idx = STEPS.indexOf(name);
	for (const li of document.querySelectorAll('#steps li')) {
		const i = STEPS.indexOf(li.dataset.step);
		li.classList.toggle('current', i === idx);
		li.classList.toggle('complete', i < idx);
		if (i === idx)
			li.setAttribute('aria-current', 'step');
		else
			li.removeAttribute('aria-current');
	}
	for (const s of document.querySelectorAll('.step'))
		s.hidden = s.dataset.step !== name;
	document.body.dataset.step = name;
	const h = $(`#step-${name} h1`);
	if (h) {
		h.tabIndex = -1;
		h.focus({ preventScroll: true });
	}
}

/** Show a callout: {kind: waiting|warning|error|success|info, title, text, list, actions, id} */
function setStatus(box, s) {
	box.replaceChildren();
	if (!s) {
		box.hidden = true;
		delete box.dataset.kind;
		delete box.dataset.reason;
		return;
	}
	box.hidden = false;
	box.dataset.kind = s.kind;
	if (s.reason)
		box.dataset.reason = s.reason;
	else
		delete box.dataset.reason;
	const icon = { warning: '!', error: '!', success: '✓', info: 'i' }[s.kind] ?? '';
	const body = el('div', { class: 'status-body' },
		el('div', { class: 'title' }, s.title),
		s.text ? el('p', {}, s.text) : null,
		s.list ? el('ol', {}, s.list.map((x) => el('li', {}, x))) : null,
		s.actions?.length ? el('div', { class: 'status-actions' },
			s.actions.map((a) => el('button', { type: 'button', class: a.primary ? 'primary' : 'secondary', id: a.id, onclick: a.onClick }, a.label))) : null);
	box.append(el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), body);
	box.setAttribute('role', s.kind === 'error' || s.kind === 'warning' ? 'alert' : 'status');
}

function busy(button, on) {
	button.disabled = on;
	button.classList.toggle('busy', on);
	button.setAttribute('aria-busy', on ? 'true' : 'false');
}

function download(name, text, type) {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = el('a', { href: url, download: name });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const site = () => location.host;

/** "emailAddress=a@b,CN=Joe Doe,C=PL" -> {CN: 'Joe Doe', emailAddress: 'a@b', C: 'PL'} */
function parseDN(dn) {
	const out = {};
	for (const part of String(dn || '').split(/,(?=\s*[A-Za-z0-9.]+=)/)) {
		const i = part.indexOf('=');
		if (i > 0)
			out[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/\\(.)/g, '$1');
	}
	return out;
}

/** A certificate name for people: the common name in bold, the rest below. */
function nameCell(dn, extra) {
	const f = parseDN(dn);
	const main = f.CN || f.O || dn;
	const rest = [f.emailAddress, f.O && f.O !== main ? f.O : null, f.C].filter(Boolean).join(' · ');
	return el('td', {}, el('div', { class: 'dn-main' }, main), rest ? el('div', { class: 'dn-rest' }, rest) : null, extra || null);
}

const shortName = (dn) => { const f = parseDN(dn); return f.CN || f.O || dn; };
const isCA = (c) => c.subject === c.issuer;

// --- errors in the user's words ----------------------------------------------------

function explain(err) {
	const reason = err instanceof CardbridgeError ? err.reason : 'UNKNOWN';
	const tries = err?.retriesLeft;
	switch (reason) {
	case 'LOCAL_NETWORK_ACCESS_DENIED':
		return {
			kind: 'warning', reason,
			title: 'Allow this site to access your card helper',
			text: `Your browser blocked ${site()} from reaching cardbridge on this computer. To let it through:`,
			list: [
				'Click the site icon at the left of the address bar.',
				'Set "Apps on this device" (local network access) to Allow.',
				'Come back to this page and click Try again.',
			],
		};
	case 'NOT_RUNNING':
		return err.details?.launched ? {
			kind: 'warning', reason,
			title: 'cardbridge did not start',
			text: 'We asked your computer to start cardbridge, but it did not answer. It may not be installed, ' +
				'or the browser\'s "Open cardbridge?" question was cancelled. Install cardbridge (or ask your IT ' +
				'department), then try again.',
		} : {
			kind: 'warning', reason,
			title: 'cardbridge is not running',
			text: 'We could not reach cardbridge on this computer. Start it, or install it first if you have not.',
		};
	case 'ORIGIN_NOT_ALLOWED':
		return {
			kind: 'error', reason,
			title: 'cardbridge does not accept this website',
			text: `cardbridge on this computer is not set up to work with ${location.origin}. Ask your IT ` +
				'department to add this site to cardbridge\'s allowed sites.',
		};
	case 'USER_CANCELLED':
		return { kind: 'warning', reason, title: 'PIN entry cancelled', text: 'Nothing was changed on your card. Try again when you are ready.' };
	case 'PIN_INCORRECT':
		return {
			kind: 'error', reason, title: 'Wrong PIN',
			text: Number.isInteger(tries)
				? `The PIN you typed is not correct. ${tries === 1 ? 'Only 1 attempt is' : `${tries} attempts are`} left before your PIN is blocked.`
				: 'The PIN you typed is not correct. Be careful: your PIN is blocked after a few wrong attempts.',
		};
	case 'PIN_LOCKED':
		return { kind: 'error', reason, title: 'Your PIN is blocked', text: 'Unblock it with your PUK code (or ask your card issuer), then try again.' };
	case 'PIN_INVALID':
		return { kind: 'error', reason, title: 'This PIN cannot be right', text: 'It has the wrong length or characters for your card. Try again.' };
	case 'TOKEN_NOT_PRESENT':
	case 'CARD_REMOVED':
		if (err?.maybeStored)
			return { kind: 'warning', reason, title: 'Your card was removed while the certificate was written', text: 'It may be on the card already. Insert the card and try again: a certificate already stored is not written twice.' };
		return { kind: 'error', reason, title: 'Your card is not in the reader', text: 'Insert your card and try again. Keep it in the reader until this step is finished.' };
	case 'SERVICE_STOPPED':
		return { kind: 'error', reason, title: 'The smart-card service stopped', text: 'Your card was not removed. Wait a moment for the service to start again, then retry.' };
	case 'KEY_NOT_FOUND':
		return { kind: 'error', reason, title: 'The key for this certificate is not on the card', text: 'Insert the card on which you generated the key pair and try again.' };
	case 'SLOT_OCCUPIED':
		return { kind: 'warning', reason, title: 'Your card already holds a key here', text: 'Replacing it would delete the existing key. Contact support if you want to replace it.' };
	case 'UNSUPPORTED_ALGORITHM':
		return { kind: 'error', reason, title: 'Your card cannot create this kind of key', text: 'Choose another key type and try again.' };
	case 'TOKEN_WRITE_PROTECTED':
		return { kind: 'error', reason, title: 'Your card is write-protected', text: 'Nothing can be stored on it. Use another card.' };
	case 'BUSY':
		return { kind: 'warning', reason, title: 'cardbridge is busy', text: 'Another cardbridge window (such as a PIN dialog) is open. Finish it, then try again.' };
	case 'TIMEOUT':
	case 'REQUEST_TIMEOUT':
		return { kind: 'warning', reason, title: 'No answer in time', text: 'The PIN window may have been open too long, or the card did not answer. Try again.' };
	case 'CONNECTION_LOST':
	case 'CLOSED':
		return { kind: 'error', reason, title: 'The connection to cardbridge was lost', text: 'Check that cardbridge is still running, then try again.' };
	case 'MODULE_ERROR':
		return { kind: 'error', reason, title: 'Your card reader reported a problem', text: 'Remove the card, insert it again and retry.' };
	case 'INVALID_PARAMS':
		return { kind: 'error', reason, title: 'The card helper refused the request', text: capitalise(err.message) + '.' };
	default:
		return { kind: 'error', reason, title: 'Something went wrong', text: err?.message ? capitalise(err.message) : String(err) };
	}
}

const capitalise = (s) => String(s).replace(/^./, (c) => c.toUpperCase()).replace(/\.$/, '');

// --- helper connection ----------------------------------------------------------------

function setPill(kind, text) {
	const pill = $('#helper-pill');
	pill.dataset.state = kind;
	$('#helper-pill-text').textContent = text;
}

async function doConnect({ launch }) {
	const box = $('#connect-status');
	const button = $('#connect');
	busy(button, true);
	setPill('connecting', 'Connecting…');
	setStatus(box, { kind: 'waiting', title: 'Connecting to cardbridge…' });
	try {
		const client = await connect({
			port: state.helperPort,
			launch,
			onStatus: (s) => {
				if (s.state === 'permission-prompt')
					setStatus(box, {
						kind: 'waiting', title: 'Your browser is asking for permission',
						text: `Choose "Allow" when the browser asks whether ${site()} may access other apps and services on this device.`,
					});
				else if (s.state === 'launching')
					setStatus(box, {
						kind: 'waiting', title: 'Starting cardbridge…',
						text: 'If your browser asks whether to open cardbridge, choose Open.',
					});
			},
		});
		adoptClient(client);
		setStatus(box, null);
		await loadTokens();
		showStep('token');
	} catch (err) {
		const ex = explain(err);
		setPill('problem', ex.reason === 'LOCAL_NETWORK_ACCESS_DENIED' ? 'Blocked by the browser' : 'Card helper not available');
		setStatus(box, ex);
		button.textContent = 'Try again';
		console.warn('cardbridge:', err.reason, err.message, err.details);
	} finally {
		busy(button, false);
	}
}

function adoptClient(client) {
	state.client?.close();
	state.client = client;
	setPill('connected', `Card helper connected`);
	$('#helper-version').textContent = `cardbridge ${client.helper.version}`;
	client.on('close', ({ byUser }) => {
		if (!byUser)
			setPill('disconnected', 'Card helper idle — reconnects when needed');
	});
	client.on('open', () => setPill('connected', 'Card helper connected'));
	const refresh = (ev) => {
		if (Array.isArray(ev?.tokens))
			setTokens(ev.tokens, ev.waitingCards);
		else
			loadTokens().catch(() => {});
	};
	client.on('tokensChanged', refresh);
	client.on('cardInserted', refresh);
	client.on('cardRemoved', refresh);
	client.subscribe().catch((e) => console.warn('cardbridge: no card events:', e.message));
}

// --- tokens ---------------------------------------------------------------------------

async function loadTokens() {
	const tokens = await state.client.listTokens();
	setTokens(tokens, tokens.waitingCards);
}

function pinStatus(t) {
	const f = t.flags || {};
	if (f.pinLocked)
		return { cls: 'err', text: 'PIN blocked', usable: false };
	if (f.writeProtected)
		return { cls: 'err', text: 'Write-protected', usable: false };
	if (f.pinFinalTry)
		return { cls: 'err', text: 'PIN: last attempt', usable: true };
	if (f.pinCountLow)
		return { cls: 'warn', text: 'PIN: few attempts left', usable: true };
	return { cls: 'ok', text: 'PIN OK', usable: true };
}

/* waiting: the cards whose PKCS#11 module cannot serve them (module by ATR). */
function setTokens(tokens, waiting) {
	state.tokens = tokens;
	state.waitingCards = waiting || [];
	if (state.token && !tokens.some((t) => t.uri === state.token) && !['connect', 'token', 'done'].includes(document.body.dataset.step)) {
		// The chosen card went away in the middle of the wizard.
		const box = $(`#${document.body.dataset.step}-status`);
		if (box)
			setStatus(box, { kind: 'error', reason: 'CARD_REMOVED', title: 'Your card was removed', text: 'Insert it again to continue.' });
	}
	if (!state.token || !tokens.some((t) => t.uri === state.token)) {
		const first = tokens.find((t) => pinStatus(t).usable);
		if (document.body.dataset.step === 'token' || document.body.dataset.step === 'connect' || !document.body.dataset.step)
			state.token = first ? first.uri : null;
	}
	renderTokens();
	renderCardState();
}

function renderTokens() {
	const list = $('#token-list');
	list.replaceChildren();
	if (state.tokens.length === 0) {
		list.append(el('div', { class: 'empty', id: 'no-token' },
			el('strong', {}, 'No card found'), el('br'),
			'Insert your card into the reader. This list updates by itself.'));
	}
	for (const t of state.tokens) {
		const st = pinStatus(t);
		const id = `tok-${t.serial || t.label}`.replace(/[^A-Za-z0-9_-]/g, '_');
		const selected = t.uri === state.token;
		const input = el('input', { type: 'radio', name: 'token', value: t.uri, id, checked: selected, disabled: !st.usable });
		input.addEventListener('change', () => {
			state.token = t.uri;
			renderTokens();
			renderCardState();
		});
		list.append(el('label', { class: `token${selected ? ' selected' : ''}${st.usable ? '' : ' disabled'}`, for: id, dataset: { label: t.label } },
			input,
			el('span', { class: 'card-icon', 'aria-hidden': 'true' }),
			el('span', {},
				el('div', { class: 'name' }, t.label || 'Unnamed card'),
				el('div', { class: 'meta' }, [t.manufacturer, t.model].filter(Boolean).join(' · ') + (t.serial ? ` · serial ${t.serial}` : ''))),
			el('span', { class: `badge ${st.cls}` }, st.text)));
	}
	for (const w of state.waitingCards || [])
		list.append(el('div', { class: 'empty waiting-card' },
			el('strong', {}, `The card in ${w.reader} cannot be used`), el('br'),
			`It needs the module ${w.module}: ${w.error}. Ask your IT department.`));
	$('#token-continue').disabled = !state.token;
}

function currentToken() {
	return state.tokens.find((t) => t.uri === state.token) || null;
}

async function renderCardState() {
	const box = $('#card-state');
	const body = $('#card-state-body');
	const t = currentToken();
	if (!state.client) {
		box.dataset.state = 'unknown';
		body.replaceChildren('Connect to see your card.');
		return;
	}
	if (!t) {
		box.dataset.state = state.token ? 'removed' : 'none';
		body.replaceChildren(el('div', { class: 'line' }, el('span', { class: 'dot' }),
			el('span', { class: 'big' }, state.token ? 'Card removed' : 'No card chosen')),
		el('p', { class: 'muted small' }, state.token ? 'Insert it again to continue.' : 'Insert a card and choose it.'));
		return;
	}
	const st = pinStatus(t);
	box.dataset.state = 'present';
	body.replaceChildren(
		el('div', { class: 'line' }, el('span', { class: 'dot' }), el('span', { class: 'big', id: 'card-state-label' }, t.label)),
		el('dl', {},
			el('dt', {}, 'Device'), el('dd', {}, t.model || '—'),
			el('dt', {}, 'Serial'), el('dd', {}, t.serial || '—'),
			el('dt', {}, 'PIN'), el('dd', {}, el('span', { class: `badge ${st.cls}` }, st.text)),
			el('dt', {}, 'Certificates'), el('dd', { id: 'card-cert-count' }, '…')));
	try {
		const certs = await state.client.listCertificates({ token: t.uri });
		const cell = $('#card-cert-count');
		if (cell)
			cell.textContent = certs.length === 0 ? 'none yet' : String(certs.length);
	} catch {
		const cell = $('#card-cert-count');
		if (cell)
			cell.textContent = '—';
	}
}

// --- step 3: key pair -------------------------------------------------------------------

function algorithmChoices(token) {
	const out = [];
	for (const kt of token?.keyTypes || []) {
		if (kt.type === 'RSA')
			for (const bits of kt.bits || [])
				out.push({ value: `RSA-${bits}`, algorithm: { type: 'RSA', bits }, label: `RSA ${bits} bit${bits === 2048 ? ' (recommended)' : ''}` });
		else if (kt.type === 'EC')
			for (const curve of kt.curves || [])
				out.push({ value: `EC-${curve}`, algorithm: { type: 'EC', curve }, label: `Elliptic curve ${curve}` });
	}
	return out;
}

function prepareGenerate() {
	const t = currentToken();
	const sel = $('#algorithm');
	const choices = algorithmChoices(t);
	sel.replaceChildren(...choices.map((c) => el('option', { value: c.value }, c.label)));
	sel.value = choices.some((c) => c.value === 'RSA-2048') ? 'RSA-2048' : (choices[0]?.value ?? '');
	sel.disabled = choices.length === 0;
	$('#generate').disabled = choices.length === 0;
	setStatus($('#generate-status'), choices.length ? null : {
		kind: 'error', title: 'This card cannot create key pairs', text: 'Choose another card.',
	});
	$('#generate-form').hidden = false;
	$('#generate-result').hidden = true;
	showStep('generate');
}

async function doGenerate(ev) {
	ev.preventDefault();
	const form = $('#generate-form');
	if (!form.reportValidity())
		return;
	const t = currentToken();
	const box = $('#generate-status');
	if (!t) {
		setStatus(box, explain(new CardbridgeError('TOKEN_NOT_PRESENT', 'no card')));
		return;
	}
	const choice = algorithmChoices(t).find((c) => c.value === $('#algorithm').value);
	const subject = {};
	for (const name of ['CN', 'emailAddress', 'O', 'C']) {
		const v = form.elements[name].value.trim();
		if (v)
			subject[name] = name === 'C' ? v.toUpperCase() : v;
	}
	const button = $('#generate');
	busy(button, true);
	setStatus(box, {
		kind: 'waiting', title: 'Enter your PIN in the cardbridge window',
		text: `cardbridge asks for the PIN of "${t.label}". Your card then creates the key pair; RSA keys can take a few seconds.`,
	});
	try {
		state.keygen = await state.client.generateKeyPair({
			token: t.uri,
			algorithm: choice.algorithm,
			label: `${subject.CN} ${new Date().getFullYear()}`.slice(0, 64),
			subject,
		});
		setStatus(box, null);
		$('#key-id').textContent = state.keygen.keyId;
		$('#csr').value = state.keygen.csr;
		form.hidden = true;
		$('#generate-result').hidden = false;
		renderCardState();
	} catch (err) {
		setStatus(box, explain(err));
	} finally {
		busy(button, false);
	}
}

// --- step 4: demo CA ----------------------------------------------------------------------

function prepareCA() {
	setStatus($('#ca-status'), null);
	$('#ca-actions').hidden = false;
	$('#ca-result').hidden = true;
	showStep('ca');
}

async function doSign() {
	const box = $('#ca-status');
	const button = $('#sign');
	busy(button, true);
	setStatus(box, { kind: 'waiting', title: 'The demo CA is signing your request…' });
	try {
		const r = await fetch('ca/sign', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ csr: state.keygen.csr }),
		});
		const body = await r.json().catch(() => ({}));
		if (!r.ok)
			throw new Error(body.error || `the demo CA answered ${r.status}`);
		state.issued = body;
		setStatus(box, null);
		const s = body.summary;
		const fmt = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
		$('#cert-summary').replaceChildren(
			el('dt', {}, 'Issued to'), el('dd', { id: 'cert-subject', title: s.subject }, [...nameCell(s.subject).childNodes]),
			el('dt', {}, 'Issued by'), el('dd', { title: s.issuer }, shortName(s.issuer)),
			el('dt', {}, 'Serial number'), el('dd', {}, el('code', {}, s.serial)),
			el('dt', {}, 'Valid'), el('dd', {}, `${fmt(s.notBefore)} – ${fmt(s.notAfter)}`));
		$('#ca-actions').hidden = true;
		$('#ca-result').hidden = false;
	} catch (err) {
		setStatus(box, {
			kind: 'error', title: 'The demo CA could not issue the certificate',
			text: capitalise(err.message || String(err)) + '.',
		});
	} finally {
		busy(button, false);
	}
}

// --- step 5: install --------------------------------------------------------------------

function prepareInstall() {
	setStatus($('#install-status'), null);
	$('#install-actions').hidden = false;
	$('#install-result').hidden = true;
	showStep('install');
}

async function doInstall() {
	const t = currentToken();
	const box = $('#install-status');
	const button = $('#install');
	busy(button, true);
	setStatus(box, {
		kind: 'waiting', title: 'Enter your PIN in the cardbridge window',
		text: `cardbridge asks for the PIN of "${t ? t.label : 'your card'}" to store the certificate.`,
	});
	try {
		const r = await state.client.installCertificate({
			certificate: state.issued.certificate,
			chain: state.issued.chain,
			token: state.token,
		});
		state.installed = r;
		setStatus(box, null);
		const rows = [
			...r.installed.map((c) => ({ ...c, what: 'Stored', ok: true })),
			...r.alreadyPresent.map((c) => ({ ...c, what: 'Already on the card', ok: true })),
			...r.notStored.map((c) => ({ subject: c.subject, issuer: '', what: `Not stored: ${c.reason}`, ok: false })),
		];
		$('#installed-table tbody').replaceChildren(...rows.map((c) => el('tr', { class: c.ok && !isCA(c) ? 'new' : '' },
			nameCell(c.subject, el('span', { class: 'role' }, isCA(c) ? 'CA certificate' : 'Your certificate')),
			el('td', {}, shortName(c.issuer)),
			el('td', { class: c.ok ? 'result-ok' : '' }, c.what))));
		$('#install-token').textContent = `on ${t ? t.label : 'your card'}, next to key ${r.keyId}`;
		$('#install-actions').hidden = true;
		$('#install-result').hidden = false;
		renderCardState();
	} catch (err) {
		setStatus(box, explain(err));
	} finally {
		busy(button, false);
	}
}

// --- step 6: done -------------------------------------------------------------------------

async function showDone() {
	const t = currentToken();
	$('#done-token').textContent = t ? t.label : 'your card';
	const tbody = $('#cards-certs tbody');
	tbody.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted' }, 'Reading your card…')));
	showStep('done');
	try {
		const certs = await state.client.listCertificates({ token: state.token });
		const fmt = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
		tbody.replaceChildren(...certs.map((c) => el('tr', { class: c.keyId === state.keygen?.keyId ? 'new' : '' },
			nameCell(c.subject, el('span', { class: 'role' }, isCA(c) ? 'CA certificate' : c.keyId === state.keygen?.keyId ? 'New' : 'Your certificate')),
			el('td', {}, shortName(c.issuer)), el('td', {}, fmt(c.notAfter)),
			el('td', {}, c.hasPrivateKey ? 'On the card' : '—'))));
	} catch (err) {
		tbody.replaceChildren(el('tr', {}, el('td', { colspan: '4' }, explain(err).title)));
	}
}

// --- wiring ---------------------------------------------------------------------------------

async function init() {
	try {
		const r = await fetch('config.json', { cache: 'no-store' });
		if (r.ok) {
			const cfg = await r.json();
			if (Number.isInteger(cfg.helperPort))
				state.helperPort = cfg.helperPort;
		}
	} catch {
		// a static copy of the page: the default port
	}
	$('#connect').addEventListener('click', () => doConnect({ launch: true }));
	$('#token-continue').addEventListener('click', prepareGenerate);
	$('#generate-form').addEventListener('submit', doGenerate);
	$('#ca-continue').addEventListener('click', prepareCA);
	$('#download-csr').addEventListener('click', () => download('request.csr', state.keygen.csr, 'application/pkcs10'));
	$('#copy-csr').addEventListener('click', async () => {
		try {
			await navigator.clipboard.writeText(state.keygen.csr);
			$('#copy-csr').textContent = 'Copied';
		} catch {
			$('#csr').select();
		}
	});
	$('#sign').addEventListener('click', doSign);
	$('#install-continue').addEventListener('click', prepareInstall);
	$('#download-cert').addEventListener('click', () => download('certificate.pem', state.issued.certificate, 'application/x-pem-file'));
	$('#install').addEventListener('click', doInstall);
	$('#done-continue').addEventListener('click', showDone);
	$('#restart').addEventListener('click', () => {
		state.keygen = state.issued = state.installed = null;
		$('#copy-csr').textContent = 'Copy';
		loadTokens().catch(() => {});
		showStep('token');
	});
	for (const b of document.querySelectorAll('[data-back]'))
		b.addEventListener('click', () => showStep(b.dataset.back));
	showStep('connect');
	document.body.dataset.ready = 'true';
}

init();
