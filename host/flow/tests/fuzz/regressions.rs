//! Inputs that once made a target panic, replayed on every test run (the
//! targets print a failing input as hex; keep it here with what it broke).

