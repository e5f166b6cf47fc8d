//! A panicking handler answers 500 problem+json, and the same connection and the server keep
//! answering. The app here is wrapped exactly like the real one (`CatchPanic` innermost, then
//! the problem+json error handlers); the route that panics exists only in this test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpResponse, HttpServer, web};
use verbund_server::{extract, panic::CatchPanic};

async fn boom() -> HttpResponse {
    panic!("a handler bug");
}

async fn boom_later() -> HttpResponse {
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    let v: Vec<u8> = Vec::new();
    #[allow(clippy::indexing_slicing)]
    HttpResponse::Ok().body(format!("{}", v[3]))
}

async fn fine() -> HttpResponse {
    HttpResponse::Ok().body("fine")
}

/// Reads one HTTP/1.1 response with a Content-Length body from the stream.
fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read head");
        assert_eq!(
            n,
            1,
            "the connection was closed: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

fn get(stream: &mut TcpStream, path: &str) -> (u16, String, String) {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    read_response(stream)
}

#[actix_web::test]
async fn a_panicking_handler_answers_500_problem_and_the_connection_stays() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| {
        App::new()
            .wrap(CatchPanic)
            .wrap(ErrorHandlers::new().default_handler(extract::ensure_problem))
            .route("/boom", web::get().to(boom))
            .route("/boom-later", web::get().to(boom_later))
            .route("/fine", web::get().to(fine))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let checked = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        for path in ["/boom", "/boom-later"] {
            let (status, head, body) = get(&mut conn, path);
            assert_eq!(status, 500, "{path}: {head}{body}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("content-type: application/problem+json"),
                "{head}"
            );
            let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(problem["type"], "urn:verbund:problem:internal");
            assert_eq!(problem["status"], 500);
            assert!(
                !body.contains("handler bug"),
                "no panic message to the client: {body}"
            );
            // The same connection keeps answering.
            let (status, _, body) = get(&mut conn, "/fine");
            assert_eq!((status, body.as_str()), (200, "fine"));
        }
        // So does the server, on a new connection, and the worker was not lost.
        let mut other = TcpStream::connect(("127.0.0.1", port)).unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(get(&mut other, "/boom").0, 500);
        assert_eq!(get(&mut other, "/fine").0, 200);
    })
    .await;
    handle.stop(false).await;
    checked.unwrap();
}
