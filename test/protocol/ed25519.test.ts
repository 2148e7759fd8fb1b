import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { noble, node, randomSecretKey } from '../../protocol/ed25519.js';
import { fromHex, toHex } from '../../protocol/hash.js';

// RFC 8032 section 7.1 test vectors (Ed25519).
const VECTORS = [
  {
    name: 'TEST 1 (empty message)',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc)',
    sk: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    pk: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    msg: createHash('sha512').update('abc').digest('hex'),
    sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

for (const backend of [noble, node]) {
  for (const v of VECTORS) {
    test(`${backend.name}: RFC 8032 ${v.name}`, () => {
      const sk = fromHex(v.sk);
      const msg = fromHex(v.msg);
      assert.equal(toHex(backend.getPublicKey(sk)), v.pk);
      assert.equal(toHex(backend.sign(msg, sk)), v.sig);
      assert.equal(backend.verify(fromHex(v.sig), msg, fromHex(v.pk)), true);
      const bad = fromHex(v.sig);
      bad[0]! ^= 1;
      assert.equal(backend.verify(bad, msg, fromHex(v.pk)), false);
    });
  }
}

test('noble and node:crypto verify each other', () => {
  for (let i = 0; i < 20; i++) {
    const sk = randomSecretKey();
    const msg = new Uint8Array(i * 13).fill(i);
    const pk = node.getPublicKey(sk);
    assert.deepEqual(pk, noble.getPublicKey(sk));
    assert.equal(noble.verify(node.sign(msg, sk), msg, pk), true);
    assert.equal(node.verify(noble.sign(msg, sk), msg, pk), true);
    // Ed25519 is deterministic: both produce the same signature.
    assert.deepEqual(node.sign(msg, sk), noble.sign(msg, sk));
  }
});

test('verify returns false (never throws) for malformed keys and signatures', () => {
  const msg = new Uint8Array([1, 2, 3]);
  for (const backend of [noble, node]) {
    assert.equal(backend.verify(new Uint8Array(10), msg, new Uint8Array(32)), false);
    assert.equal(backend.verify(new Uint8Array(64), msg, new Uint8Array(31)), false);
    assert.equal(backend.verify(new Uint8Array(64), msg, new Uint8Array(32).fill(0xff)), false);
  }
});
