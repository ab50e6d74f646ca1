/**
 * State kept per object (per kernel, per user region ...): `keyed(make)` is the getter of the
 * state of a key, made by `make(key)` on its first use and held in a WeakMap, so that it goes
 * with its key. The getter keeps the last key it was asked for and its state: a run asks for the
 * same kernel's state again and again, and a hot path then pays one comparison, not a hash
 * lookup.
 */
export function keyed<K extends object, S>(make: (key: K) => S): (key: K) => S {
  const states = new WeakMap<K, S>();
  let lastKey: K | null = null;
  let last: S | undefined;
  return (key: K): S => {
    if (key === lastKey) return last as S;
    let s = states.get(key);
    if (s === undefined) {
      s = make(key);
      states.set(key, s);
    }
    lastKey = key;
    last = s;
    return s;
  };
}
