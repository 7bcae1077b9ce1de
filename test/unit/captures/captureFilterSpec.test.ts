import { describe, expect, it } from 'vitest';
import {
  FilterSpecError,
  parseFilterSpec,
  parseFiltersJson,
  validateCaptureFilter,
} from '../../../src/captures/captureFilterSpec.js';

// The rules: https://learn.microsoft.com/javascript/api/@azure/arm-network/packetcapturefilter (one value, one
// range or a ";" list; no multiple ranges; no ranges mixed with a list).
describe('parseFilterSpec', () => {
  it('reads the issue example with its own field names', () => {
    expect(parseFilterSpec('protocol=TCP,remoteIPAddress=10.0.0.0-10.0.0.255,remotePort=443;8443')).toEqual({
      protocol: 'TCP',
      remoteIPAddress: '10.0.0.0-10.0.0.255',
      remotePort: '443;8443',
    });
  });

  it('takes field names and protocols in any case, and a trailing ";" as the docs write it', () => {
    expect(parseFilterSpec('PROTOCOL=udp, localport=80;443;')).toEqual({
      protocol: 'UDP',
      localPort: '80;443;',
    });
    expect(parseFilterSpec('protocol=any')).toEqual({ protocol: 'Any' });
  });

  it('takes IPv6 addresses and ranges', () => {
    expect(parseFilterSpec('localIPAddress=fd00::1-fd00::ff')).toEqual({
      localIPAddress: 'fd00::1-fd00::ff',
    });
  });

  it("refuses the az docs' range 1.1.1.1-255.255.255, naming the field and the value", () => {
    const error = catchError(() => parseFilterSpec('protocol=TCP,remoteIPAddress=1.1.1.1-255.255.255'));
    expect(error).toBeInstanceOf(FilterSpecError);
    expect(error.message).toContain('remoteIPAddress "1.1.1.1-255.255.255"');
    expect(error.message).toContain('"255.255.255" is not a valid IP address');
    expect(error).toMatchObject({ field: 'remoteIPAddress', value: '1.1.1.1-255.255.255' });
  });

  it.each([
    ['remotePort=80-85;443', 'range inside a ";" list'],
    ['remotePort=85-80', 'starts after it ends'],
    ['remotePort=70000', '"70000" is not a valid port'],
    ['remotePort=http', '"http" is not a valid port'],
    ['localIPAddress=10.0.0.1;10.0.0.300', '"10.0.0.300" is not a valid IP address'],
    ['localIPAddress=10.0.0.9-10.0.0.1', 'starts after it ends'],
    ['localIPAddress=10.0.0.1-fd00::1', 'mixes IPv4 and IPv6'],
    ['localIPAddress=10.0.0.0/24', 'not a valid IP address'],
    ['localIPAddress=1-2-3', 'is not a range'],
    ['protocol=ICMP', 'expected TCP, UDP or Any'],
    ['port=80', 'unknown field "port"'],
    ['remotePort', 'has no value'],
    ['remotePort=', 'empty'],
    ['remotePort=1,remotePort=2', 'given twice'],
    ['protocol=TCP,,remotePort=1', 'field=value pairs'],
    ['', 'field=value pairs'],
  ])('refuses %s', (spec, message) => {
    expect(() => parseFilterSpec(spec)).toThrow(message);
  });
});

describe('parseFiltersJson', () => {
  it('reads an array of filter objects', () => {
    expect(parseFiltersJson('[{"protocol":"tcp","remotePort":"443"},{"localIPAddress":"10.0.0.4"}]')).toEqual(
      [{ protocol: 'TCP', remotePort: '443' }, { localIPAddress: '10.0.0.4' }],
    );
  });

  it.each([
    ['not json', 'expected a JSON array'],
    ['{"protocol":"TCP"}', 'expected a JSON array'],
    ['[1]', '--filters-json[0]: expected an object'],
    [
      '[{}, {"remoteIPAddress":"1.1.1.1-255.255.255"}]',
      '--filters-json[1]: remoteIPAddress "1.1.1.1-255.255.255"',
    ],
    ['[{"remotePort":443}]', 'remotePort: expected a string'],
    ['[{"Protocol":"TCP"}]', 'unknown field "Protocol"'],
  ])('refuses %s', (json, message) => {
    expect(() => parseFiltersJson(json)).toThrow(message);
  });
});

describe('validateCaptureFilter', () => {
  it('refuses a value longer than the schema allows', () => {
    const list = Array.from({ length: 200 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`).join(';');
    expect(() => validateCaptureFilter({ localIPAddress: list })).toThrow(FilterSpecError);
  });
});

function catchError(f: () => unknown): FilterSpecError {
  try {
    f();
  } catch (e) {
    return e as FilterSpecError;
  }
  throw new Error('expected an error');
}
