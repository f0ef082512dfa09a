// PCI paths and the root complex prefix. Cases follow upstream pci.rs
// test_path and linux_abi.rs (pcipath_from_dev_tree_path).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatPciPath,
  makePciPath,
  makeSlotFn,
  parseDeviceTreePciPath,
  parsePciPath,
  pciRootBusPath,
  PciParseError,
} from '../../../src/oci/pci/index.js';

describe('PCI path', () => {
  const sf3 = makeSlotFn(3, 0);
  const sf4 = makeSlotFn(4, 0);
  const sf5 = makeSlotFn(5, 0);

  test('one, two and three elements, with and without functions', () => {
    const one = makePciPath([sf3]);
    assert.equal(formatPciPath(one), '03.0');
    assert.deepEqual(parsePciPath('03.0'), one);
    assert.deepEqual(parsePciPath('03'), one);
    assert.equal(one.length, 1);

    const two = makePciPath([sf3, sf4]);
    assert.equal(formatPciPath(two), '03.0/04.0');
    assert.deepEqual(parsePciPath('03.0/04.0'), two);
    assert.deepEqual(parsePciPath('03/04'), two);

    const three = makePciPath([sf3, sf4, sf5]);
    assert.equal(formatPciPath(three), '03.0/04.0/05.0');
    assert.deepEqual(parsePciPath('03/04/05'), three);

    const fns = parsePciPath('0a.5/0b.6/0c.7');
    assert.deepEqual(fns, [makeSlotFn(0xa, 5), makeSlotFn(0xb, 6), makeSlotFn(0xc, 7)]);
    assert.equal(formatPciPath(fns), '0a.5/0b.6/0c.7');
  });

  test('property: format then parse round-trips every path', () => {
    const slotFn = fc.tuple(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0, max: 7 })).map(([s, f]) => makeSlotFn(s, f));
    fc.assert(
      fc.property(fc.array(slotFn, { minLength: 1, maxLength: 6 }), (elements) => {
        const p = makePciPath(elements);
        assert.deepEqual(parsePciPath(formatPciPath(p)), p);
      }),
    );
  });

  test('bad paths are refused', () => {
    assert.throws(() => makePciPath([]), /at least one element/);
    for (const s of ['', '20', '00.8', '//', 'xyz', '02/', '/02', '02//03']) {
      assert.throws(() => parsePciPath(s), PciParseError, `input ${JSON.stringify(s)}`);
    }
    assert.throws(() => parsePciPath('02/20'), /element 2: .*slot 0x20 is above 0x1f/);
  });
});

describe('root complex prefix', () => {
  test('"02/01": two segments stay on root complex 00', () => {
    const r = parseDeviceTreePciPath('02/01');
    assert.equal(r.rootComplex, '00');
    assert.deepEqual(r.path, [makeSlotFn(2), makeSlotFn(1)]);
  });

  test('"02/00/01": first segment below 0x20 is a slot, not a root complex', () => {
    const r = parseDeviceTreePciPath('02/00/01');
    assert.equal(r.rootComplex, '00');
    assert.equal(r.path.length, 3);
  });

  test('"20/00/02": three segments and first >= 0x20 names the root complex', () => {
    const r = parseDeviceTreePciPath('20/00/02');
    assert.equal(r.rootComplex, '20');
    assert.deepEqual(r.path, [makeSlotFn(0), makeSlotFn(2)]);
    assert.equal(parseDeviceTreePciPath('fe/01/02/03').rootComplex, 'fe');
    assert.equal(parseDeviceTreePciPath('FE/01/02').rootComplex, 'fe');
  });

  test('a root complex value with only two segments is an invalid slot', () => {
    assert.throws(() => parseDeviceTreePciPath('20/02'), PciParseError);
    assert.throws(() => parseDeviceTreePciPath('20/00/20'), /after root complex 20/);
  });

  test('root bus sysfs path', () => {
    assert.equal(pciRootBusPath('00'), '/devices/pci0000:00');
    assert.equal(pciRootBusPath(parseDeviceTreePciPath('20/00/02').rootComplex), '/devices/pci0000:20');
    assert.throws(() => pciRootBusPath('200'), PciParseError);
  });
});
