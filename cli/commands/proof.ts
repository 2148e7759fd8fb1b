/** `swarmlet proof check|get`: receipt inclusion proofs (check works offline). */
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError, defineCommand } from '../../util/cli.js';
import { CLIENT_HELP, CLIENT_OPTIONS, GatewayClient } from '../gateway-client.js';
import type { Group } from '../main.js';

const check = defineCommand({
  name: 'proof check',
  summary: 'Verify an inclusion proof offline: receipt signature, Merkle path to the root, signed batch header.',
  usage: 'swarmlet proof check FILE [--gateway-key HEX] [--json]',
  options: { 'gateway-key': { type: 'string' }, json: { type: 'boolean' } },
  help: {
    'gateway-key': 'pin the gateway public key (64 hex); without it the proof shows which gateway signed it',
    json: 'print the verdict as JSON',
  },
  details: 'Exit status: 0 valid, 1 invalid (the reason is printed), 2 bad arguments.\nGet a proof with: swarmlet proof get RECEIPT_ID --gateway URL --out proof.json',
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

const get = defineCommand({
  name: 'proof get',
  summary: 'Fetch the inclusion proof of a receipt from a gateway.',
  usage: 'swarmlet proof get RECEIPT_ID --gateway URL [--token T] [--out FILE]',
  options: { ...CLIENT_OPTIONS, out: { type: 'string', short: 'o' } },
  help: { ...CLIENT_HELP, out: 'write the proof to FILE (default: stdout)' },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1 || !/^[0-9a-f]{64}$/.test(positionals[0]!)) throw new CliError('proof get: expected one receipt id (64 hex digits)');
    const body = await GatewayClient.from(values).text(`/api/receipts/${positionals[0]}/proof`);
    if (typeof values.out === 'string') writeFileSync(values.out, body + '\n');
    else process.stdout.write(body + '\n');
    return 0;
  },
});

const group: Group = { name: 'proof', summary: 'Check receipt inclusion proofs offline.', commands: [check, get] };
export default group;
