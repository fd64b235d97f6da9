// ES module entry: `import { Gatecast } from 'gatecast'` (Node, bundlers) or,
// in a browser, from wherever gatecast.js and this file are served together.
import * as ns from './gatecast.js';

const Gatecast = (ns && ns.default) || globalThis.Gatecast;
export { Gatecast };
export default Gatecast;
