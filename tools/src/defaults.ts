/** What the commands use unless told otherwise: the node's embedded store and the standard distribution as `npm run build` leaves it. */

/** The store the node uses unless told otherwise: the embedded LMDB store in ./data. */
export const DEFAULT_STORE = 'lmdb:./data';

/** The distribution the node runs unless told otherwise: the standard one, as `npm start` builds it. */
export const DEFAULT_DIST = 'distributions/standard/build';
