//! The JSON body extractor: only a JSON object is a request body.

use axum::{Router, routing::post};
use reqwest::StatusCode;
use serde::Deserialize;
use solstice_kit::extract::Json;

#[derive(Deserialize)]
struct Optional {
    #[serde(default)]
    key: Option<String>,
}

async fn start() -> String {
    let router = Router::new().route(
        "/echo",
        post(|Json(body): Json<Optional>| async move { body.key.unwrap_or_else(|| "none".to_owned()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn post_body(base: &str, content_type: Option<&str>, body: &str) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().post(format!("{base}/echo")).body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn only_a_json_object_is_a_request_body() {
    let base = start().await;
    let json = Some("application/json");
    assert_eq!(post_body(&base, json, r#"{"key":"k1"}"#).await, (StatusCode::OK, "k1".to_owned()));
    assert_eq!(post_body(&base, json, " {}").await, (StatusCode::OK, "none".to_owned()));
    // serde would read a struct whose fields are all optional from an array, or from `[]`.
    for not_an_object in ["[]", r#"["k2"]"#, "null", "7", r#""text""#] {
        let (status, body) = post_body(&base, json, not_an_object).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{not_an_object}");
        assert!(body.contains("The request body must be a JSON object."), "{not_an_object}: {body}");
    }
    let (status, body) = post_body(&base, json, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The request body is not valid JSON."), "{body}");
    let (status, body) = post_body(&base, None, "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Send the request body as JSON."), "{body}");
    let (status, body) = post_body(&base, Some("application/problem+json; charset=utf-8"), "{}").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "none"));
}
