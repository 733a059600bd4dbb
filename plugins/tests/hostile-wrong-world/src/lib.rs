//! `hostile-wrong-world`: exports an interface named exactly
//! `weft:plugin/step@0.1.0` but with the signature `run(input: string) -> string`
//! (see its own `wit/`), to test that the host checks signatures, not just names.

wit_bindgen::generate!({ world: "step-plugin", path: "wit" });

use exports::weft::plugin::step::Guest;

struct HostileWrongWorld;

impl Guest for HostileWrongWorld {
    fn run(input: String) -> String {
        input
    }
}

export!(HostileWrongWorld);
