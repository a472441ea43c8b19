//! `docs/` is generated from the schemas; this test fails when a page is
//! missing or out of date. `UPDATE_DOCS=1` rewrites the pages instead.

use std::path::{Path, PathBuf};

use mto_provider::MtoProvider;
use mto_provider::docs::{DATA_SOURCES, RESOURCES, render_function, render_index, render_type};
use tfplugin::Provider;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn check(pages: Vec<(String, String)>) {
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (rel, want) in pages {
        let path = root().join(&rel);
        let want = format!("{}\n", want.trim_end());
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(rel);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date (run `UPDATE_DOCS=1 cargo test -p terraform-provider-mto --test docs`): {stale:?}"
    );
}

#[test]
fn every_resource_data_source_and_function_has_an_up_to_date_page() {
    let p = MtoProvider;
    let root = root();
    let mut pages = vec![("docs/index.md".to_owned(), render_index(&root, &p.schema()))];
    let resources = p.resources();
    assert_eq!(
        resources.len(),
        RESOURCES.len(),
        "every resource needs an entry in docs::RESOURCES"
    );
    for r in &resources {
        let facts = RESOURCES
            .iter()
            .find(|f| f.type_name == r.type_name())
            .expect("facts for every resource");
        let name = r.type_name().trim_start_matches("mto_");
        pages.push((
            format!("docs/resources/{name}.md"),
            render_type(&root, facts, &r.schema(), false),
        ));
        for example in ["resource.tf", "import.sh"] {
            let path = root.join(format!("examples/resources/{}/{example}", r.type_name()));
            assert!(path.exists(), "missing {}", path.display());
        }
    }
    let data_sources = p.data_sources();
    assert_eq!(
        data_sources.len(),
        DATA_SOURCES.len(),
        "every data source needs an entry in docs::DATA_SOURCES"
    );
    for d in &data_sources {
        let facts = DATA_SOURCES
            .iter()
            .find(|f| f.type_name == d.type_name())
            .expect("facts for every data source");
        let name = d.type_name().trim_start_matches("mto_");
        pages.push((
            format!("docs/data-sources/{name}.md"),
            render_type(&root, facts, &d.schema(), true),
        ));
        let path = root.join(format!(
            "examples/data-sources/{}/data-source.tf",
            d.type_name()
        ));
        assert!(path.exists(), "missing {}", path.display());
    }
    for f in p.functions() {
        pages.push((
            format!("docs/functions/{}.md", f.name()),
            render_function(&root, f.name(), &f.definition()),
        ));
    }
    check(pages);
}

#[test]
fn every_schema_attribute_has_a_description() {
    let p = MtoProvider;
    let mut missing = Vec::new();
    let mut visit = |owner: String, block: &tfplugin::Block| {
        fn walk(owner: &str, b: &tfplugin::Block, missing: &mut Vec<String>) {
            for a in &b.attributes {
                if a.description.trim().is_empty() {
                    missing.push(format!("{owner}.{}", a.name));
                }
                if let tfplugin::schema::AttributeType::Nested { attributes, .. } = &a.ty {
                    let inner = tfplugin::Block {
                        attributes: attributes.clone(),
                        ..Default::default()
                    };
                    walk(&format!("{owner}.{}", a.name), &inner, missing);
                }
            }
            for nb in &b.blocks {
                walk(&format!("{owner}.{}", nb.type_name), &nb.block, missing);
            }
        }
        walk(&owner, block, &mut missing);
    };
    visit("provider".into(), &p.schema().block);
    for r in p.resources() {
        visit(r.type_name().into(), &r.schema().block);
    }
    for d in p.data_sources() {
        visit(format!("data.{}", d.type_name()), &d.schema().block);
    }
    assert!(
        missing.is_empty(),
        "attributes without description: {missing:?}"
    );
}
