// {{name}}: a record holding a JSON array becomes one record per element;
// any other record passes through. A flat-map returns zero, one or many outputs.
//
// Build it with ./build.sh; README.md says how to try it.
import * as sluice from './sluice.js';

const decoder = new TextDecoder();

export const { plugin, transformer } = sluice.flatMap({
  description: 'One record per element of a JSON array; other records unchanged.',

  // It reads the raw value (a Uint8Array): typed rows reach it as JSON objects.
  accepts: 'raw',

  flatMap(value) {
    let parsed;
    try {
      parsed = JSON.parse(decoder.decode(value));
    } catch (e) {
      throw new sluice.RecordError(`the value is not JSON: ${e.message}`);
    }
    // Each element is written as JSON; anything else goes on as it came.
    return Array.isArray(parsed) ? parsed : [value];
  },
});
