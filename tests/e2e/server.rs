//! Health, readiness and the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

async fn health_and_readiness(app: TestApp) {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

async fn openapi_document_describes_the_api(app: TestApp) {
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/tenants",
        "/api/v1/tenants/{slug}",
        "/api/v1/tenants/{slug}/users",
        "/api/v1/tenants/{slug}/users/{id}",
        "/api/v1/centers",
        "/api/v1/centers/{slug}/tenants",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

async fn openapi_document(app: &TestApp) -> Value {
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.unwrap()
}

/// Every operation of the document as (path, method, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((path.as_str(), method, op));
            }
        }
    }
    out
}

/// The `{name}`s of a path template.
fn template_names(path: &str) -> BTreeSet<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// The structure of the document: what openapi-spec-validator (in ./scripts/test) and client
/// generators refuse, and what made it lie before: query parameters declared `in: path`,
/// duplicated operationIds, security schemes used but not defined, statuses without a body.
async fn openapi_document_is_consistent(app: TestApp) {
    let doc = openapi_document(&app).await;
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut requirements: Vec<&Value> = doc["security"].as_array().into_iter().flatten().collect();
    let ops = operations(&doc);
    assert!(ops.len() > 80, "only {} operations", ops.len());
    for (path, method, op) in &ops {
        let at = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no operationId"));
        ids.entry(id).or_default().push(at.clone());
        requirements.extend(op["security"].as_array().into_iter().flatten());

        let params: Vec<&Value> = doc["paths"][*path]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(op["parameters"].as_array().into_iter().flatten())
            .collect();
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            in_path,
            template_names(path),
            "{at}: the path parameters must be exactly the {{names}} of the path"
        );
        for p in &params {
            let name = p["name"].as_str().unwrap();
            match p["in"].as_str().unwrap() {
                "path" => assert_eq!(p["required"], true, "{at}: path parameter {name}"),
                "query" => assert!(
                    !template_names(path).contains(name),
                    "{at}: query parameter {name} is also in the path"
                ),
                other => panic!("{at}: parameter {name} in {other}"),
            }
        }
        let mut seen = BTreeSet::new();
        for p in &params {
            assert!(
                seen.insert((p["in"].as_str(), p["name"].as_str())),
                "{at}: parameter {} twice",
                p["name"]
            );
        }

        // Every status has a description, and every error one is a problem+json body.
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{at}: no responses");
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{at} {status}: no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{at} {status}: not a problem+json response"
                );
            }
        }
        // The statuses that follow from the shape of the operation.
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            assert!(responses.contains_key("401"), "{at}: 401 undocumented");
        }
        if op["requestBody"]["content"]
            .get("application/json")
            .is_some()
        {
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{at}: {status} undocumented"
                );
            }
        }
        if params.iter().any(|p| p["in"] == "query") {
            for status in ["400", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{at}: {status} undocumented"
                );
            }
        }
        if !in_path.is_empty() {
            assert!(responses.contains_key("404"), "{at}: 404 undocumented");
        }
    }
    let duplicated: Vec<_> = ids.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "duplicated operationIds: {duplicated:?}"
    );
    for requirement in requirements {
        for scheme in requirement.as_object().unwrap().keys() {
            assert!(
                schemes.contains_key(scheme),
                "security scheme {scheme} is not defined"
            );
        }
    }

    // Every $ref points into the document.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} points nowhere");
    }

    // The content types that are not JSON.
    let report = &doc["paths"]["/api/v1/tenants/{slug}/reports"]["get"]["responses"]["200"];
    assert!(report["content"]["text/csv"].is_object(), "{report}");
    assert!(
        report["content"]["application/json"].is_object(),
        "{report}"
    );
    let import = &doc["paths"]["/api/v1/tenants/{slug}/import"]["post"]["requestBody"];
    assert!(import["content"]["application/xml"].is_object(), "{import}");
    assert!(
        import["content"]["application/x-ndjson"].is_object(),
        "{import}"
    );
    assert!(doc["components"]["securitySchemes"]["ingest"].is_object());
}

/// The document and the router agree: every documented operation reaches a handler. Asked
/// without credentials and with placeholders for the path parameters, a routed operation
/// answers with one of its documented statuses (401, 404 with a detail, 415, 503…); one the
/// router does not know gets the router's bare 404 or 405, which has no `detail`.
async fn every_documented_operation_is_routed(app: TestApp) {
    let doc = openapi_document(&app).await;
    for (path, method, op) in operations(&doc) {
        let mut url = path.to_owned();
        for name in template_names(path) {
            url = url.replace(&format!("{{{name}}}"), "x");
        }
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = app
            .client
            .request(method.clone(), app.url(&url))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        assert!(
            status != StatusCode::NOT_FOUND || body["detail"].is_string(),
            "{method} {path} is documented but not routed: {body}"
        );
        assert!(
            op["responses"].get(status.as_str()).is_some(),
            "{method} {path}: {status} is not documented: {body}"
        );
    }
}

crate::both_backends!(
    health_and_readiness,
    openapi_document_describes_the_api,
    openapi_document_is_consistent,
    every_documented_operation_is_routed,
);
