// A JavaScript plugin that misbehaves on the record whose price is 13, in the
// way `mode` says; every other record passes through. The tests check that
// each misbehaviour is contained as a Rust plugin's is.
import * as sluice from './sluice.js';

export const { plugin, transformer } = sluice.filter({
  description: 'Misbehaves on price 13 as mode says.',
  options: { mode: { help: 'raise, crash, loop, alloc or print', default: 'raise' } },

  init(config) {
    this.mode = config.mode;
  },

  keep(row) {
    if (row.price !== 13) return true;
    switch (this.mode) {
      case 'raise':
        throw new sluice.RecordError('price 13 is unlucky');
      case 'crash':
        return row.no.such.key;
      case 'loop':
        for (;;) {}
      case 'alloc': {
        const hoard = [];
        for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
      }
      case 'print':
        console.log('printed by the plugin');
        return true;
      default:
        throw new sluice.RecordError(`unknown mode ${this.mode}`);
    }
  },
});
