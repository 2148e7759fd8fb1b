/**
 * `swarmlet proof check|get|latest`: receipt inclusion proofs and the recursive ledger proof
 * (check works offline). Ledger proofs need the optional o1js, loaded only for them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LEDGER_INCLUSION_FORMAT, LEDGER_PROOF_FORMAT } from '../../protocol/ledger-proof.js';
import { CliError, defineCommand } from '../../util/cli.js';
import { CLIENT_HELP, CLIENT_OPTIONS, GatewayClient } from '../gateway-client.js';
import type { Group } from '../main.js';

const check = defineCommand({
  name: 'proof check',
  summary: 'Verify a proof offline: a receipt inclusion proof (signed batch header, or the recursive ledger proof) or a ledger proof.',
  usage: 'swarmlet proof check FILE [--gateway-key HEX] [--pallas-key B62...] [--json]',
  options: { 'gateway-key': { type: 'string' }, 'pallas-key': { type: 'string' }, json: { type: 'boolean' } },
  help: {
    'gateway-key': 'pin the gateway Ed25519 public key (64 hex) of a batch-header proof; without it the proof shows which gateway signed it',
    'pallas-key': "pin the gateway's Pallas genesis key (B62...) of a ledger proof; without it the verdict names the key the ledger is rooted in",
    json: 'print the verdict as JSON',
  },
  details: [
    'Exit status: 0 valid, 1 invalid (the reason is printed), 2 bad arguments.',
    'Get a proof with: swarmlet proof get RECEIPT_ID --gateway URL --out proof.json',
    `Formats: swarmlet-inclusion-v1 (swarmlet proof get), ${LEDGER_INCLUSION_FORMAT} (swarmlet proof get --ledger),`,
    `${LEDGER_PROOF_FORMAT} (swarmlet proof latest). Ledger proofs are checked against the committed`,
    'verification key (gateway/prover/ledger-vk.json) and need o1js.',
  ].join('\n'),
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('proof check: expected exactly one proof file (see: swarmlet proof check --help)');
    const pin = values['gateway-key'];
    if (pin !== undefined && (typeof pin !== 'string' || !/^[0-9a-f]{64}$/.test(pin))) throw new CliError('--gateway-key must be 64 lowercase hex digits');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(positionals[0]!, 'utf8'));
    } catch (e) {
      throw new CliError(`proof check: cannot read ${positionals[0]}: ${(e as Error).message}`);
    }
    const format = (raw as { format?: unknown } | null)?.format;
    // Any ledger format goes to the ledger checker, which names an outdated one.
    if (typeof format === 'string' && format.startsWith('swarmlet-ledger-')) {
      const key = values['pallas-key'];
      if (key !== undefined && (typeof key !== 'string' || !/^B62[1-9A-HJ-NP-Za-km-z]{52}$/.test(key))) throw new CliError('--pallas-key must be a base58 Pallas public key (B62..., 55 characters)');
      return checkLedger(raw, format, key as string | undefined, values.json === true);
    }
    const { verifyInclusionProof } = await import('../../gateway/proof.js');
    const v = verifyInclusionProof(raw, pin ? { gatewayPublicKey: new Uint8Array(Buffer.from(pin, 'hex')) } : {});
    if (values.json) {
      process.stdout.write(JSON.stringify(v.ok
        ? { valid: true, receiptId: (raw as { receiptId: string }).receiptId, taskId: v.receipt.taskId, nodeId: v.receipt.nodeId, batchNo: v.header.batchNo, gatewayId: v.gatewayId, pinned: !!pin }
        : { valid: false, reason: v.reason }) + '\n');
    } else if (v.ok) {
      process.stdout.write(`valid: receipt ${(raw as { receiptId: string }).receiptId} (task ${v.receipt.taskId}, node ${v.receipt.nodeId}) is in batch ${v.header.batchNo} of gateway ${v.gatewayId}${pin ? ' (pinned key)' : ''}\n`);
    } else {
      process.stdout.write(`invalid: ${v.reason}\n`);
    }
    return v.ok ? 0 : 1;
  },
});

async function checkLedger(raw: unknown, format: string, pallasKey: string | undefined, json: boolean): Promise<number> {
  const { loadO1js } = await import('../../gateway/prover/o1js.js');
  const { checkLedgerInclusion, checkLedgerProof } = await import('../../gateway/prover/check.js');
  let o;
  try { o = await loadO1js(); } catch (e) { throw new CliError(`proof check: ${(e as Error).message}`, 1); }
  const opts = pallasKey ? { gatewayKey: pallasKey } : {};
  const v = format === LEDGER_PROOF_FORMAT ? await checkLedgerProof(o, raw, opts) : await checkLedgerInclusion(o, raw, opts);
  const s = v.state;
  if (json) {
    process.stdout.write(JSON.stringify({ valid: v.ok, reason: v.reason, state: s, pinned: !!pallasKey, steps: v.steps }) + '\n');
  } else {
    for (const st of v.steps) process.stdout.write(`  ${st.ok ? 'ok  ' : 'FAIL'} ${st.step}${st.detail ? ` (${st.detail})` : ''}\n`);
    if (v.ok && s) {
      const what = format === LEDGER_PROOF_FORMAT ? 'ledger proof' : `receipt ${(raw as { receiptId: string }).receiptId} is in the ledger proof`;
      process.stdout.write(`valid: ${what} at height ${s.height} (${s.receipts} receipts, ${s.fuel} fuel, ${s.credits} pico-credits) rooted in gateway key ${s.gatewayKey}${pallasKey ? ' (pinned)' : ' (not pinned: compare it with the gateway\'s published key)'}\n`);
    } else {
      process.stdout.write(`invalid: ${v.reason}\n`);
    }
  }
  return v.ok ? 0 : 1;
}

const latest = defineCommand({
  name: 'proof latest',
  summary: "Fetch a gateway's latest recursive ledger proof (check it with swarmlet proof check).",
  usage: 'swarmlet proof latest --gateway URL [--token T] [--out FILE]',
  options: { ...CLIENT_OPTIONS, out: { type: 'string', short: 'o' } },
  help: { ...CLIENT_HELP, out: 'write the proof to FILE (default: stdout)' },
  async run({ values }) {
    const status = await GatewayClient.from(values).json<{ enabled: boolean; reason?: string; latest?: unknown }>('/api/proofs/latest');
    if (!status.enabled) throw new CliError(`the gateway proves no ledger: ${status.reason ?? 'disabled'}`, 1);
    if (!status.latest) throw new CliError('the gateway has no ledger proof yet', 1);
    const body = JSON.stringify(status.latest);
    if (typeof values.out === 'string') writeFileSync(values.out, body + '\n');
    else process.stdout.write(body + '\n');
    return 0;
  },
});

const get = defineCommand({
  name: 'proof get',
  summary: 'Fetch the inclusion proof of a receipt from a gateway.',
  usage: 'swarmlet proof get RECEIPT_ID --gateway URL [--token T] [--ledger] [--out FILE]',
  options: { ...CLIENT_OPTIONS, ledger: { type: 'boolean' }, out: { type: 'string', short: 'o' } },
  help: {
    ...CLIENT_HELP,
    ledger: "the receipt's inclusion in the recursive ledger proof instead of in a signed batch header",
    out: 'write the proof to FILE (default: stdout)',
  },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1 || !/^[0-9a-f]{64}$/.test(positionals[0]!)) throw new CliError('proof get: expected one receipt id (64 hex digits)');
    const body = await GatewayClient.from(values).text(`/api/receipts/${positionals[0]}/${values.ledger ? 'ledger-proof' : 'proof'}`);
    if (typeof values.out === 'string') writeFileSync(values.out, body + '\n');
    else process.stdout.write(body + '\n');
    return 0;
  },
});

const group: Group = { name: 'proof', summary: 'Fetch and check receipt inclusion proofs and ledger proofs offline.', commands: [check, get, latest] };
export default group;
