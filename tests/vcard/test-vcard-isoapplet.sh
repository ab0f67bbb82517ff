#!/bin/bash
# test-vcard-isoapplet.sh - the IsoApplet card tier: cardbridge-vcard with
# --personality isoapplet (a Java Card with IsoApplet API 00.06), driven
# through a private pcscd by Debian's own OpenSC 0.23 - its isoApplet card
# driver, its pkcs15-init isoApplet profile, pkcs11-tool, pkcs15-tool - with
# outcomes checked by openssl and by cardbridge-p11-probe, which prints the
# exact CKR codes, token flags and key attributes OpenSC reports.
#
# Besides proving the card works, the tier pins what OpenSC 0.23 does with
# such a card, which cardbridge has to live with: keys generated through
# C_GenerateKeyPair read CKA_SENSITIVE & co. FALSE; no PIN flags in a fresh
# process; a blocked PIN answers CKR_PIN_INCORRECT; ECDSA only as
# ECDSA-SHA1; how each user_pin_unblock_style unblocks (or not).
#
# TAP like every tier; missing tools: "1..0 # SKIP why". It never touches
# a system pcscd or a real card. VCARD_TEST_KEEP=1 keeps the work directory.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/tier.sh"
tier_need pcscd pkcs11-tool pkcs15-init pkcs15-tool opensc-tool openssl
. "$here/pcsc-env.sh"
probe=${VCARD_PROBE_BIN:-$(_pcsc_env_find cardbridge-p11-probe)} ||
	skip "cardbridge-p11-probe not built (run make check)"

pin=$VCARD_USER_PIN
puk=$VCARD_PUK
aid=F276A288BCFBA69D34F31001
t_start=$(date +%s%N)
tier_start test-vcard-isoapplet

# p11probe [OPENSC_CONF] ARGS...: cardbridge-p11-probe, output in
# $work/probe.out (and on stdout); its status is the probe's.
p11probe() {
	local conf=$OPENSC_CONF
	case "$1" in *.conf) conf=$1 && shift ;; esac
	OPENSC_CONF=$conf timeout 30 "$probe" "$module" "$@" | tee "$work/probe.out"
	return "${PIPESTATUS[0]}"
}

# expect LINE...: every line occurs in the last probe output.
expect() {
	local line
	for line in "$@"; do
		grep -qxF -- "$line" "$work/probe.out" || { echo "missing: $line"; return 1; }
	done
}

# sw_of APDU...: the last status word opensc-tool reports, "SW1 SW2", after
# SELECT of the applet and the given APDUs in one card session.
sw_of() {
	local args=(-r 0 -s "00A404000C$aid") a
	for a in "$@"; do
		args+=(-s "$a")
	done
	timeout 10 opensc-tool "${args[@]}" 2>&1 |
		sed -n 's/.*SW1=0x\([0-9A-Fa-f]*\), SW2=0x\([0-9A-Fa-f]*\).*/\1 \2/p' | tail -n 1
}

hex() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# A PIN as the applet stores it and OpenSC sends it: zero-padded to 16.
pin16() {
	local h
	h=$(hex "$1")
	while [ ${#h} -lt 32 ]; do h=${h}00; done
	echo "$h"
}

start_card() {
	if ! vcard_start "$work" --personality isoapplet --state "$work/card.state" \
		--apdu-count "$work/apdus" "$@"; then
		not_ok "IsoApplet card comes up in the private pcscd"
		exit 1
	fi
}

# --- environment, personalisation ----------------------------------------------
if ! pcsc_env_start "$work"; then
	not_ok "private pcscd with vpcd starts"
	exit 1
fi
start_card
ok "IsoApplet card is present in reader 0 (port $PCSC_ENV_PORT)"
check "OpenSC matches it with its isoApplet driver" \
	eval 'timeout 10 opensc-tool -n | grep -qx "Javacard with IsoApplet"'
check "before personalisation OpenSC finds no token on it" \
	eval 'p11 -L | grep -q "token not recognized"'
short_puk() {
	! timeout 30 pkcs15-init --create-pkcs15 --so-pin "$pin" --so-puk 12345678 \
		--label "$VCARD_LABEL" && grep -q 'min length 16' "$work/p15.log"
}
check "an 8-digit PUK is refused by OpenSC's isoApplet profile (PUK is 16 long)" \
	eval 'OPENSC_DEBUG=3 short_puk 2>"$work/p15.log"'
check "pkcs15-init personalises it: user PIN $pin, PUK of 16 digits" \
	vcard_personalise_isoapplet "$work"
token_listed() {
	p11 -L >"$work/list.out" 2>&1 &&
		grep -q "token label *: $VCARD_LABEL (User PIN)" "$work/list.out" &&
		grep -q 'PIN initialized' "$work/list.out" &&
		grep -q 'pin min/max *: 4/16' "$work/list.out"
}
check "pkcs11-tool -L shows the token '$VCARD_LABEL (User PIN)', PIN initialized, 4/16" \
	token_listed
check "token flags: RNG LOGIN_REQUIRED USER_PIN_INITIALIZED TOKEN_INITIALIZED only" \
	eval 'p11probe token && expect "flags = 0x40d CKF_RNG CKF_LOGIN_REQUIRED CKF_USER_PIN_INITIALIZED CKF_TOKEN_INITIALIZED" "ulMinPinLen = 4" "ulMaxPinLen = 16"'

# --- key generation with the user PIN, signatures -------------------------------
keygen() {
	p11 --login --pin "$pin" --keypairgen --key-type "$1" --id "$2" --label "$3"
}
t0=$(now_ms)
check "RSA-2048 key pair generated on the card with the user PIN, --id 01" \
	keygen rsa:2048 01 "rsa key"
echo "# RSA-2048 keygen (pkcs11-tool end to end): $(($(now_ms) - t0)) ms"
check "EC P-256 key pair generated on the card with the user PIN, --id 02" \
	keygen EC:prime256v1 02 "ec key"
mechanisms() {
	p11 -M >"$work/mech.out" 2>&1 && grep -q '^ *ECDSA-SHA1,' "$work/mech.out" &&
		! grep -q '^ *ECDSA,\|^ *ECDSA-SHA256' "$work/mech.out" &&
		grep -q '^ *SHA256-RSA-PKCS,' "$work/mech.out"
}
check "mechanisms: ECDSA only as ECDSA-SHA1 (hashed on the card), SHA256-RSA-PKCS" mechanisms

echo "cardbridge isoapplet test data $$" >"$work/data"
read_pub() { # read_pub ID NAME: the public key as OpenSC stores it, to PEM
	p11 --read-object --type pubkey --id "$1" --output-file "$work/$2.der" &&
		openssl pkey -pubin -inform DER -in "$work/$2.der" -out "$work/$2.pem"
}
check "the RSA public key is read back under CKA_ID 01 (the --id is kept)" read_pub 01 pub1
check "the EC public key is read back under CKA_ID 02" read_pub 02 pub2
sign() { # sign ID MECHANISM OUT
	p11 --login --pin "$pin" --sign --id "$1" --mechanism "$2" --signature-format openssl \
		--input-file "$work/data" --output-file "$work/$3"
}
check "SHA256-RSA-PKCS signature by key 01 verifies with openssl" \
	eval 'sign 01 SHA256-RSA-PKCS sig1 && openssl dgst -sha256 -verify "$work/pub1.pem" -signature "$work/sig1" "$work/data"'
check "ECDSA-SHA256 is refused: C_SignInit = CKR_MECHANISM_INVALID" \
	eval '! sign 02 ECDSA-SHA256 sig2x && grep -q "C_SignInit failed: rv = CKR_MECHANISM_INVALID" "$work/last.out"'
check "ECDSA-SHA1 signature by key 02 verifies with openssl" \
	eval 'sign 02 ECDSA-SHA1 sig2 && openssl dgst -sha1 -verify "$work/pub2.pem" -signature "$work/sig2" "$work/data"'
decrypt() {
	head -c 32 /dev/urandom >"$work/secret" &&
		openssl pkeyutl -encrypt -pubin -inkey "$work/pub1.pem" -in "$work/secret" \
			-out "$work/secret.enc" &&
		p11 --login --pin "$pin" --decrypt --id 01 --mechanism RSA-PKCS \
			--input-file "$work/secret.enc" --output-file "$work/secret.dec" &&
		cmp "$work/secret" "$work/secret.dec"
}
check "key 01 deciphers (RSA-PKCS) what openssl encrypted to it" decrypt
check "C_GenerateRandom returns 32 bytes (GET CHALLENGE)" \
	eval '[ "$(p11 --generate-random 32 | wc -c)" -eq 32 ]'
p384() {
	keygen EC:secp384r1 06 "p384 key" &&
		timeout 30 pkcs15-tool --read-public-key 06 --output "$work/pub6.pem" &&
		sign 06 ECDSA-SHA1 sig6 &&
		openssl dgst -sha1 -verify "$work/pub6.pem" -signature "$work/sig6" "$work/data"
}
check "EC P-384: generated, read back with pkcs15-tool, ECDSA-SHA1 verifies" p384
check "a key generated without --id gets CKA_ID 45" \
	eval 'p11 --login --pin "$pin" --keypairgen --key-type EC:prime256v1 --label noid | grep -q "ID: *45"'

# --- the bug: what OpenSC 0.23 says about keys made by C_GenerateKeyPair ---------
bool_attrs() { # bool_attrs VALUE: the five attributes of the last probe are VALUE
	expect "CKA_SENSITIVE = $1" "CKA_ALWAYS_SENSITIVE = $1" "CKA_NEVER_EXTRACTABLE = $1" \
		"CKA_LOCAL = $1" "CKA_EXTRACTABLE = FALSE"
}
check "C_GenerateKeyPair RSA key: SENSITIVE ALWAYS_SENSITIVE NEVER_EXTRACTABLE LOCAL read FALSE" \
	eval 'p11probe attrs 01 "$pin" && bool_attrs FALSE'
check "... and its key material is not readable (CKA_PRIVATE_EXPONENT = CKR_ATTRIBUTE_SENSITIVE)" \
	expect "CKA_PRIVATE_EXPONENT = CKR_ATTRIBUTE_SENSITIVE (0x11)" \
	"CKA_PRIME_1 = CKR_ATTRIBUTE_SENSITIVE (0x11)"
check "C_GenerateKeyPair EC key: the same FALSEs; CKA_VALUE = CKR_ATTRIBUTE_TYPE_INVALID" \
	eval 'p11probe attrs 02 "$pin" && bool_attrs FALSE && expect "CKA_VALUE = CKR_ATTRIBUTE_TYPE_INVALID (0x12)"'
check "pkcs11-tool -O agrees: 'Access: none' for the generated private keys" \
	eval 'p11 --login --pin "$pin" -O --type privkey | grep -q "Access: *none"'
check "a key generated by pkcs15-init --generate-key reads all TRUE (OpenSC sets them there)" \
	eval 'timeout 30 pkcs15-init --generate-key ec/prime256v1 --auth-id ff --pin "$pin" --id 03 --label p15init && p11probe attrs 03 "$pin" && bool_attrs TRUE'

# --- user PIN: counter, lock, unblock ------------------------------------------------
check "C_Login(CKU_SO) succeeds with any PIN: the card has no SO PIN" \
	eval 'p11probe login SO 99999999 && expect "C_Login(CKU_SO) = CKR_OK (0x0)"'
check "a fresh process sees no PIN flags even after a wrong PIN (no PIN status query)" \
	eval '! p11probe login USER 000000; p11probe token && expect "flags = 0x40d CKF_RNG CKF_LOGIN_REQUIRED CKF_USER_PIN_INITIALIZED CKF_TOKEN_INITIALIZED"'
check "the card counts it: VERIFY status answers 63C2" eval '[ "$(sw_of 0020000100)" = "63 C2" ]'
check "default unblock style: pkcs11-tool --unlock-pin is a PIN change with the PUK: one PIN try spent" \
	eval 'p11probe login USER "$pin" && ! p11 --unlock-pin --puk "$puk" --new-pin "$pin" && grep -q "rv = CKR_PIN_INCORRECT" "$work/last.out" && [ "$(sw_of 0020000100)" = "63 C2" ]'
# One process, as a daemon would be: each login, then the token flags.
lock_pin() {
	p11probe login USER "$pin" >/dev/null || return 1 # three tries again
	! p11probe login USER 000000 000000 000000 "$pin" || return 1
	[ "$(grep -c '= CKR_PIN_INCORRECT' "$work/probe.out")" -eq 4 ] &&
		sed -n 4p "$work/probe.out" | grep -q 'CKF_TOKEN_INITIALIZED$' &&
		sed -n 6p "$work/probe.out" | grep -q 'CKF_USER_PIN_FINAL_TRY$' &&
		sed -n 8p "$work/probe.out" | grep -q 'CKF_USER_PIN_LOCKED$' &&
		sed -n 10p "$work/probe.out" | grep -q 'CKF_USER_PIN_LOCKED$'
}
check "one process: wrong PIN (no flag), wrong (FINAL_TRY), wrong (LOCKED), right: CKR_PIN_INCORRECT" \
	lock_pin
check "a blocked PIN answers 63C0 (IsoApplet never says 6983)" eval '[ "$(sw_of 0020000100)" = "63 C0" ]'
check "default unblock style: on a blocked PIN pkcs11-tool --unlock-pin fails the same way" \
	eval '! p11 --unlock-pin --puk "$puk" --new-pin "$pin" && grep -q "rv = CKR_PIN_INCORRECT" "$work/last.out"'
check "default unblock style: C_InitPIN after SO login = CKR_DATA_INVALID (card: 6A86)" \
	eval '! p11probe initpin "$pin" "$puk" && expect "C_InitPIN = CKR_DATA_INVALID (0x20)"'
check "pkcs15-tool --unblock-pin --puk unblocks it (RESET RETRY COUNTER)" \
	eval 'timeout 30 pkcs15-tool --unblock-pin --puk "$puk" --new-pin "$pin" && p11probe login USER "$pin"'

pcsc_env_opensc_conf "$work/unlogged.conf" 'user_pin_unblock_style = set_pin_in_unlogged_session;'
pcsc_env_opensc_conf "$work/context.conf" 'user_pin_unblock_style = set_pin_in_specific_context;'
pcsc_env_opensc_conf "$work/so.conf" 'user_pin_unblock_style = init_pin_in_so_session;'
block() { ! p11probe login USER 000000 000000 000000 >/dev/null && [ "$(sw_of 0020000100)" = "63 C0" ]; }
check "set_pin_in_unlogged_session: pkcs11-tool --unlock-pin --puk unblocks a blocked PIN" \
	eval 'block && OPENSC_CONF="$work/unlogged.conf" p11 --unlock-pin --puk "$puk" --new-pin "$pin" && p11probe login USER "$pin"'
check "set_pin_in_unlogged_session: C_SetPIN(PUK, new) unlogged = CKR_OK" \
	eval 'block && p11probe "$work/unlogged.conf" setpin "$puk" "$pin" && expect "C_SetPIN = CKR_OK (0x0)" && p11probe login USER "$pin"'
check "set_pin_in_specific_context: C_Login(CKU_CONTEXT_SPECIFIC) = CKR_OPERATION_NOT_INITIALIZED" \
	eval '! p11probe "$work/context.conf" setpin "$puk" "$pin" CONTEXT "$puk" && expect "C_Login(CKU_CONTEXT) = CKR_OPERATION_NOT_INITIALIZED (0x91)"'
check "init_pin_in_so_session: C_Login(CKU_SO, PUK) + C_InitPIN(new) = CKR_OK, unblocks" \
	eval 'block && p11probe "$work/so.conf" initpin "$pin" "$puk" && expect "C_Login(CKU_SO) = CKR_OK (0x0)" "C_InitPIN = CKR_OK (0x0)" && p11probe login USER "$pin"'
check "init_pin_in_so_session: pkcs11-tool --init-pin --login-type so --so-pin PUK works" \
	eval 'block && OPENSC_CONF="$work/so.conf" p11 --init-pin --login --login-type so --so-pin "$puk" --new-pin "$pin" && p11probe login USER "$pin"'

wrong_puk=0000000000000000
check "a wrong PUK: C_SetPIN = CKR_PIN_INCORRECT, the PUK counter goes 5 -> 4 -> 3 (63C3)" \
	eval '! p11probe "$work/unlogged.conf" setpin "$wrong_puk" "$pin" && expect "C_SetPIN = CKR_PIN_INCORRECT (0xa0)" && [ "$(sw_of "002C000120$(pin16 $wrong_puk)$(pin16 $pin)")" = "63 C3" ]'
check "the right PUK resets the PUK counter (a wrong one then answers 63C4)" \
	eval 'p11probe "$work/unlogged.conf" setpin "$puk" "$pin" && [ "$(sw_of "002C000120$(pin16 $wrong_puk)$(pin16 $pin)")" = "63 C4" ]'
check "pkcs11-tool --change-pin changes the user PIN (and back)" \
	eval 'p11 --change-pin --pin "$pin" --new-pin 654321 && p11probe login USER 654321 && p11 --change-pin --pin 654321 --new-pin "$pin" && p11probe login USER "$pin"'
check "C_SetPIN with a 3-digit new PIN = CKR_PIN_LEN_RANGE" \
	eval '! p11probe setpin "$pin" 123 USER "$pin" && expect "C_SetPIN = CKR_PIN_LEN_RANGE (0xa2)"'

# --- certificates and deletion ------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
check "a throw-away certificate is made with openssl" \
	openssl req -x509 -new -key "$work/ca.key" -subj "/CN=cardbridge isoapplet test" -days 1 \
	-outform DER -out "$work/cert1.der"
check "writing a certificate without login fails: C_CreateObject = CKR_PIN_LEN_RANGE" \
	eval '! p11 --write-object "$work/cert1.der" --type cert --id 01 && grep -q "C_CreateObject failed: rv = CKR_PIN_LEN_RANGE" "$work/last.out"'
check "certificate written under the key's ID 01 with the user PIN" \
	p11 --login --pin "$pin" --write-object "$work/cert1.der" --type cert --id 01 --label "cert 01"
check "it reads back byte for byte" \
	eval 'p11 --read-object --type cert --id 01 --output-file "$work/cert1.read" && cmp "$work/cert1.der" "$work/cert1.read"'
keys_on_card() { grep -c '^key ' "$work/card.state"; }
keys_before=$(keys_on_card)
delete() { p11 --login --pin "$pin" --delete-object --type "$1" --id "$2"; }
check "C_DestroyObject deletes the certificate (DELETE FILE)" \
	eval 'delete cert 01 && ! p11 -O --type cert | grep -q "Certificate Object"'
check "C_DestroyObject deletes private key 02 from the PKCS#15 directory" \
	eval 'delete privkey 02 && ! p11 --login --pin "$pin" -O --type privkey | grep -q "ID: *02$"'
check "... but the key stays in its card slot (IsoApplet cannot delete keys)" \
	eval '[ "$(keys_on_card)" -eq "$keys_before" ]'
check "C_DestroyObject deletes public key 02" \
	eval 'delete pubkey 02 && ! p11 -O --type pubkey | grep -q "ID: *02$"'

# --- status words -----------------------------------------------------------------
status_words() {
	[ "$(sw_of 00FE000000)" = "6D 00" ] && [ "$(sw_of 80CA000000)" = "6E 00" ] &&
		[ "$(sw_of 0020000200)" = "6A 86" ] && [ "$(sw_of 0022410006800111840100)" = "69 82" ] &&
		[ "$(sw_of 10A4000C023F00)" = "68 84" ] &&
		[ "$(sw_of "0020000106$(hex "$pin")" 00DB3FFF0100)" = "69 00" ]
}
check "unknown INS, CLA 80, VERIFY P2=02, MSE without PIN, chained SELECT, key import: 6D00 6E00 6A86 6982 6884 6900" \
	status_words

# --- APDU counting, state across a restart ------------------------------------------
apdus_counted() {
	local a b
	a=$(cat "$work/apdus") && timeout 10 opensc-tool -r 0 -s 0020000100 >/dev/null 2>&1 &&
		b=$(cat "$work/apdus") && [ "$b" -gt "$a" ]
}
check "--apdu-count: the count file grows with the APDUs the card answers" apdus_counted
! p11probe login USER 000000 >/dev/null
apdus_before=$(cat "$work/apdus")
vcard_stop
start_card
apdus_after=$(cat "$work/apdus")
persisted() {
	[ "$(sw_of 0020000100)" = "63 C2" ] && sign 01 SHA256-RSA-PKCS sig1b &&
		openssl dgst -sha256 -verify "$work/pub1.pem" -signature "$work/sig1b" "$work/data" &&
		[ "$(sw_of 0020000100)" = "63 C3" ]
}
check "after a restart the PIN counter (63C2) and key 01 are still there; it still signs" persisted
check "the APDU count starts again with the new process ($apdus_before, then $apdus_after)" \
	test "$apdus_after" -lt "$apdus_before"

# --- fault injection: removal, slow and failing key generation --------------------------
# Count the APDUs of a key generation before GENERATE (INS 46) in a dry run
# on a copy of the state, then pull the card out right before it.
vcard_stop
mkdir -p "$work/dry"
cp "$work/card.state" "$work/dry/card.state"
vcard_start "$work/dry" --personality isoapplet --state "$work/dry/card.state" --verbose \
	--apdu-count "$work/dry/apdus"
keygen rsa:2048 04 dry >/dev/null 2>&1
vcard_stop
check "dry run: --apdu-count equals the APDUs the card logged" \
	eval '[ "$(cat "$work/dry/apdus")" -eq "$(grep -ac ": C: " "$work/dry/vcard.log")" ]'
before_gen=$(grep -a ': C: ' "$work/dry/vcard.log" | grep -n -m 1 ': C: 0046' | cut -d: -f1)
if [ -z "$before_gen" ]; then
	not_ok "dry run reaches GENERATE ASYMMETRIC KEY PAIR"
	before_gen=40
fi
start_card --remove-after $((before_gen - 1))
removed_pid=$VCARD_PID
t0=$(now_ms)
keygen rsa:2048 04 removed >"$work/removed.out" 2>&1
keygen_rc=$?
t_removed=$(($(now_ms) - t0))
vcard_wait "$removed_pid" 10
card_rc=$?
if [ $keygen_rc -ne 0 ] && [ $keygen_rc -ne 124 ] && [ $card_rc -eq 3 ]; then
	ok "card pulled before GENERATE (APDU $before_gen): keygen fails in ${t_removed} ms, no hang"
	echo "# pkcs11-tool said: $(grep -m 1 -o 'C_[A-Za-z]* failed: rv = [A-Z_]*' "$work/removed.out")"
else
	not_ok "card removed mid-operation (pkcs11-tool rc $keygen_rc, card rc $card_rc)"
	sed 's/^/#   /' "$work/removed.out"
fi
check "pcscd reports reader 0 empty and OpenSC lists no token" \
	eval 'vcard_wait_absent 0 && p11 -L | grep -q "(empty)"'
start_card --keygen-delay-ms 1000
t0=$(now_ms)
check "--keygen-delay-ms 1000: the key generation still works" keygen EC:prime256v1 05 slow
t_slow=$(($(now_ms) - t0))
check "... and takes at least 1 s (${t_slow} ms)" test "$t_slow" -ge 1000
vcard_stop
start_card --fail-keygen
check "--fail-keygen makes pkcs11-tool --keypairgen fail cleanly" \
	eval '! keygen EC:prime256v1 07 failing && grep -q "fault injection: key generation fails" "$work/vcard.log"'
vcard_stop

echo "# tier run time: $((($(date +%s%N) - t_start) / 1000000)) ms"
if [ $failures -ne 0 ]; then
	echo "# $failures of $count checks failed"
	exit 1
fi
exit 0
