import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { loadInfra, modules, property } from './bicepTree.js';
import type { BicepFile } from './bicepTree.js';

let main: BicepFile;
beforeAll(async () => {
  main = (await loadInfra()).find((f) => f.path === 'infra/main.bicep') as BicepFile;
});

describe('ledgerTableName', () => {
  it('is limited to 3-63 characters, as the Table service requires', () => {
    const param = main.root
      .descendantsOfType('parameter_declaration')
      .find((p) => p.namedChildren.some((c) => c.text === 'ledgerTableName'));
    const decorated = main.text.slice(0, main.text.indexOf('param ledgerTableName'));
    expect(param).toBeDefined();
    expect(decorated.trimEnd().split('\n').slice(-3).join('\n')).toMatch(
      /@minLength\(3\)\n@maxLength\(63\)\n@description/,
    );
  });

  it('reaches the table and the app only through the checked name', () => {
    const checked = main.text.match(
      /var checkedLedgerTableName = ledgerTableNameIsValid \? ledgerTableName : '([^']+)'/,
    );
    expect(checked).not.toBeNull();
    const users = modules(main).filter((x) => x.symbol === 'appStorage' || x.symbol === 'functionApp');
    expect(users).toHaveLength(2);
    for (const m of users) {
      expect(property(m.params, 'ledgerTableName')?.text, m.symbol).toBe('checkedLedgerTableName');
    }
    // The replacement is itself refused by the service (a hyphen), so a bad name never creates a table, and the
    // app's own rule agrees with the Bicep one on what is valid.
    expect(() =>
      loadConfig({
        CAPTURE_STORAGE_ACCOUNT_ID:
          '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/capstore',
        ALLOWED_SCOPES: '*',
        LEDGER_STORAGE_ACCOUNT_NAME: 'appstore',
        LEDGER_TABLE_NAME: checked?.[1] ?? '',
      }),
    ).toThrow(/LEDGER_TABLE_NAME/);
  });

  it('checks letters and digits, a letter first, and the reserved "tables"', () => {
    const rule = main.text.match(/var ledgerTableNameIsValid = (.+)/)?.[1] ?? '';
    expect(rule).toContain("!contains('abcdefghijklmnopqrstuvwxyz0123456789', c)");
    expect(rule).toContain("contains('abcdefghijklmnopqrstuvwxyz', ledgerTableChars[0])");
    expect(rule).toContain("toLower(ledgerTableName) != 'tables'");
  });
});
