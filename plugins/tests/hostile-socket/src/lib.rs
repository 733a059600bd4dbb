//! `hostile-socket`: a step that tries to connect to 127.0.0.1:80 over TCP and to
//! bind a UDP socket, to test that plugins get no network. Panics with both errors
//! when both fail; returns what worked otherwise.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::json;
use std::net::{TcpStream, UdpSocket};
use weft::plugin::types::{PluginError, RunInfo};

struct HostileSocket;

impl Guest for HostileSocket {
    fn run(_info: RunInfo, _config: String, _input: String) -> Result<String, PluginError> {
        let tcp = TcpStream::connect("127.0.0.1:80");
        let udp = UdpSocket::bind("0.0.0.0:0");
        match (tcp, udp) {
            (Err(t), Err(u)) => {
                panic!("could not connect to 127.0.0.1:80: {t}; could not bind UDP: {u}")
            }
            (tcp, udp) => Ok(json!({
                "tcp": tcp.map_or_else(|e| e.to_string(), |_| "connected".into()),
                "udp": udp.map_or_else(|e| e.to_string(), |_| "bound".into()),
            })
            .to_string()),
        }
    }
}

export!(HostileSocket);
