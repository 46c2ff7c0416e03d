//! Who talks to whom: the "no exchange in N days" rule, look-alike correspondents, and day-one import.
