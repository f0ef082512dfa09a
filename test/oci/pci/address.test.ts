// PCI slot/function and address parsing/formatting. Cases follow the
// upstream agent's pci.rs tests (test_slotfn, test_address) and
// device/mod.rs tests (test_parse_pci_bdf_name, test_bus_of_addr).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatPciAddress,
  formatSlotFn,
  makePciAddress,
  makeSlotFn,
  parsePciAddress,
  parseSlotFn,
  pciAddressEquals,
  pciBusOf,
  PciParseError,
  tryParsePciAddress,
} from '../../../src/oci/pci/index.js';

describe('PCI slot/function', () => {
  test('valid values format as SS.F', () => {
    assert.equal(formatSlotFn(makeSlotFn(0, 0)), '00.0');
    assert.equal(formatSlotFn(parseSlotFn('00.0')), '00.0');
    assert.equal(formatSlotFn(parseSlotFn('00')), '00.0', 'function defaults to 0');
    assert.deepEqual(makeSlotFn(31, 7), parseSlotFn('1f.7'));
    assert.deepEqual(parseSlotFn('1F.7'), parseSlotFn('1f.7'), 'hex is case-insensitive');
    assert.equal(formatSlotFn(parseSlotFn('a.5')), '0a.5', 'one slot digit is accepted, two are printed');
  });

  test('bad slots are refused', () => {
    assert.throws(() => makeSlotFn(-1, 0), PciParseError);
    assert.throws(() => makeSlotFn(32, 0), /slot 32 is outside 0..0x1f/);
    assert.throws(() => parseSlotFn('20.0'), /slot 0x20 is above 0x1f/);
    assert.throws(() => parseSlotFn('20'), PciParseError);
    assert.throws(() => parseSlotFn('xy.0'), PciParseError);
    assert.throws(() => parseSlotFn('xy'), PciParseError);
  });

  test('bad functions are refused', () => {
    assert.throws(() => makeSlotFn(0, -1), /function -1 is outside 0..7/);
    assert.throws(() => makeSlotFn(0, 8), PciParseError);
    assert.throws(() => parseSlotFn('00.8'), /function 8 is above 7/);
    assert.throws(() => parseSlotFn('00.x'), PciParseError);
  });

  test('bad formats are refused, naming the input', () => {
    for (const s of ['', '00.0.0', '00.0/', '00/', '000', '0.', '.0', ' 00']) {
      assert.throws(
        () => parseSlotFn(s),
        (err: unknown) => err instanceof PciParseError && err.input === s && err.message.includes(JSON.stringify(s)),
        `input ${JSON.stringify(s)}`,
      );
    }
  });
});

describe('PCI address', () => {
  test('round-trips 0000:00:00.0 and ffff:ff:1f.7', () => {
    const zero = makePciAddress(0, 0, makeSlotFn(0, 0));
    assert.equal(formatPciAddress(zero), '0000:00:00.0');
    assert.ok(pciAddressEquals(parsePciAddress('0000:00:00.0'), zero));

    const max = makePciAddress(0xffff, 0xff, makeSlotFn(0x1f, 7));
    assert.equal(formatPciAddress(max), 'ffff:ff:1f.7');
    assert.ok(pciAddressEquals(parsePciAddress('ffff:ff:1f.7'), max));
    assert.equal(formatPciAddress(parsePciAddress('FFFF:FF:1F.7')), 'ffff:ff:1f.7', 'printed lower-case');
  });

  test('bad addresses are refused', () => {
    for (const s of [
      '10000:00:00.0',
      '0000:100:00.0',
      '0000:00:20.0',
      '0000:00:00.8',
      'xyz',
      'xyxy:xy:xy.z',
      '0000:00:00.0:00',
      '0:0:0.0', // short fields: the strict DDDD:BB:SS.F form only
      '0000:00:00',
      '',
    ]) {
      assert.throws(() => parsePciAddress(s), PciParseError, `input ${JSON.stringify(s)}`);
      assert.equal(tryParsePciAddress(s), undefined);
    }
    assert.throws(() => parsePciAddress('0000:00:20.0'), /0000:00:20\.0.*slot 0x20 is above 0x1f/);
    assert.throws(() => makePciAddress(0x10000, 0, makeSlotFn(0)), /domain 65536 is outside/);
    assert.throws(() => makePciAddress(0, 0x100, makeSlotFn(0)), /bus 256 is outside/);
  });

  test('test_parse_pci_bdf_name: sysfs directory names', () => {
    for (const ok of ['0000:00:00.0', '0000:01:02.3', 'ffff:ff:1f.7']) {
      assert.ok(tryParsePciAddress(ok), ok);
    }
    for (const bad of ['invalid', '', 'not_a_pci_address', 'random_string', 'pci_bus']) {
      assert.equal(tryParsePciAddress(bad), undefined, bad);
    }
  });

  test('property: format then parse round-trips every address, in either case', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0x1f }),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
        (domain, bus, slot, fn, upper) => {
          const a = makePciAddress(domain, bus, makeSlotFn(slot, fn));
          const text = formatPciAddress(a);
          assert.match(text, /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/);
          assert.ok(pciAddressEquals(parsePciAddress(upper ? text.toUpperCase() : text), a));
        },
      ),
    );
  });

  test('test_bus_of_addr: DDDD:BB', () => {
    assert.equal(pciBusOf(makePciAddress(0, 1, makeSlotFn(2, 3))), '0000:01');
    assert.equal(pciBusOf(makePciAddress(0xffff, 0xff, makeSlotFn(0x1f, 7))), 'ffff:ff');
    assert.equal(pciBusOf(makePciAddress(0, 0, makeSlotFn(0, 0))), '0000:00');
  });
});
