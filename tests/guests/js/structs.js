// A JavaScript flat-map whose output has a struct column: price 1 gives two
// rows (one full, one of nulls), prices 2-4 give rows that do not fit the schema.
import * as sluice from './sluice.js';

export const { plugin, transformer } = sluice.flatMap({
  description: 'Writes a struct, a boolean and binary cells; gives wrong types on purpose.',
  schema: [
    ['t', 'string'],
    ['w', [['start', 'timestamp'], ['n', 'integer']]],
    ['ok', 'boolean'],
    ['b', 'binary'],
  ],
  flatMap(row) {
    switch (row.price) {
      case 1:
        return [
          { t: 'a', w: { start: new Date(Date.UTC(2026, 10, 25, 12)), n: 3 }, ok: true, b: new Uint8Array([0, 1]) },
          { t: 'b' },
        ];
      case 2:
        return [{ t: 5 }];
      case 3:
        return [{ t: 'x', extra: 1 }];
      case 4:
        return [{ w: { n: 2 ** 40 } }];
      default:
        return [];
    }
  },
});
