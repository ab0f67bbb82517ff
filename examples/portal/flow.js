// Demo Trust Center: the activation's progress, kept in the tab's session
// storage so that a reload (or a crash of the page) resumes it instead of
// losing the CSR and leaving an orphaned key on the card.
//
// Only public data is kept: the token's URI and label, the new key's ID,
// label and CSR, the issued certificate.  Never a PIN (the page never sees
// one) and nothing a page could not show anyway.  Session storage ends with
// the tab, as the activation does.

const KEY = 'cardbridge-demo:activation';
const VERSION = 1;

/** The saved activation, or null. */
export function loadFlow() {
	try {
		const f = JSON.parse(globalThis.sessionStorage?.getItem(KEY) ?? 'null');
		return f && f.v === VERSION && typeof f.token === 'string' && f.keygen?.keyId ? f : null;
	} catch {
		return null;
	}
}

/** Keep {token, tokenLabel, keygen, issued, installed}. */
export function saveFlow(f) {
	try {
		globalThis.sessionStorage?.setItem(KEY, JSON.stringify({ v: VERSION, ...f }));
	} catch {
		// private mode or full: the flow still works, only not across a reload
	}
}

export function clearFlow() {
	try {
		globalThis.sessionStorage?.removeItem(KEY);
	} catch {
		// nothing kept
	}
}
