// Types for gatecast.mjs (ES modules).
import Gatecast = require('./gatecast.js');

export { Gatecast };
export default Gatecast;
