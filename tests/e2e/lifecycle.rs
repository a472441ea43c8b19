//! The lifecycle every resource must survive, in one helper: create, an
//! empty second plan, import into a fresh state, an in-place update, drift
//! shown and repaired, an out-of-band delete planned as a re-create, and a
//! destroy that leaves nothing behind in Graph.

use mto_e2e::{Workspace, flatten};

pub struct Lifecycle<'a> {
    /// The resource under test, e.g. `mto_organization.this`.
    pub address: &'a str,
    /// The whole configuration (provider block included).
    pub config: String,
    /// The same with one in-place change to the resource under test.
    pub updated: String,
    pub import_id: String,
    /// Whether the resource stands alone (then the imported state must
    /// also plan empty).
    pub standalone: bool,
    pub check_created: Box<dyn Fn(&serde_json::Value) + 'a>,
    pub check_updated: Box<dyn Fn(&serde_json::Value) + 'a>,
    /// Changes the object through Graph, behind Terraform's back; `None`
    /// for objects with nothing Graph lets change in place (a join is
    /// either there or not: its removal is the `delete` step).
    pub drift: Option<Box<dyn Fn() + 'a>>,
    /// Deletes the object through Graph.
    pub delete: Box<dyn Fn() + 'a>,
    /// Asserts, through Graph, that nothing of the resource is left.
    pub assert_gone: Box<dyn Fn() + 'a>,
}

/// Attributes that legitimately differ between a created and an imported
/// state: configuration-only settings and status that moves with time.
/// (`attribute_mapping` is imported: an import manages the mappings that
/// differ from the job template's.)
const NOT_IMPORTED: &[&str] = &[
    "timeouts",
    "wait_for_active",
    "provision_on_demand",
    "status.",
];

impl Lifecycle<'_> {
    pub fn run(self) {
        self.run_inner(true);
    }

    /// For objects that always exist (templates): the "delete" step is a
    /// reset, which plans as an update instead of a re-create.
    pub fn run_without_recreate(self) {
        self.run_inner(false);
    }

    fn run_inner(self, recreate: bool) {
        let ws = Workspace::new();
        ws.write_config(&self.config);
        ws.apply().assert_success();
        let created = ws.resource_values(self.address);
        (self.check_created)(&created);
        ws.assert_plan_empty();
        if self.standalone {
            // Nothing else moves this resource's status: a refresh-only
            // plan must be empty too.
            let r = ws.run(&["plan", "-refresh-only", "-detailed-exitcode"]);
            assert_eq!(r.code, 0, "refresh-only plan not empty:\n{}", r.output());
        }

        // Import into a fresh state gives the same attributes as the
        // (refreshed) state: status that others move, such as a member
        // turning active when its join completes, is compared as it is now.
        ws.run(&["apply", "-refresh-only", "-auto-approve"])
            .assert_success();
        let created = ws.resource_values(self.address);
        let fresh = Workspace::new();
        fresh.write_config(&self.config);
        let import_id = if self.import_id.is_empty() {
            created["id"].as_str().expect("id in state").to_owned()
        } else {
            self.import_id.clone()
        };
        fresh
            .run(&["import", self.address, &import_id])
            .assert_success();
        let imported = fresh.resource_values(self.address);
        let (a, b) = (flatten(&created), flatten(&imported));
        for (k, v) in &a {
            if NOT_IMPORTED.iter().any(|p| k.starts_with(p)) {
                continue;
            }
            assert_eq!(Some(v), b.get(k), "imported {k} differs from created");
        }
        if self.standalone {
            fresh.assert_plan_empty();
        }
        drop(fresh);

        // In-place update.
        ws.write_config(&self.updated);
        let plan = ws.run(&["plan", "-no-color"]);
        assert!(
            plan.stdout
                .contains(&format!("{} will be updated in-place", self.address))
                && plan.stdout.contains("0 to destroy"),
            "expected an in-place change:\n{}",
            plan.output()
        );
        ws.apply().assert_success();
        (self.check_updated)(&ws.resource_values(self.address));
        ws.assert_plan_empty();

        // Drift is shown and repaired.
        if let Some(drift) = &self.drift {
            drift();
            let r = ws.plan_exit_code();
            assert_eq!(r.code, 2, "drift not shown:\n{}", r.output());
            ws.apply().assert_success();
            ws.assert_plan_empty();
        }

        // An out-of-band delete is planned as a re-create.
        (self.delete)();
        let r = ws.plan_exit_code();
        assert_eq!(r.code, 2, "delete not noticed:\n{}", r.output());
        if recreate {
            assert!(
                r.stdout
                    .contains(&format!("{} will be created", self.address)),
                "{}",
                r.output()
            );
        }
        ws.apply().assert_success();
        ws.assert_plan_empty();

        // Destroy leaves nothing behind.
        ws.destroy().assert_success();
        (self.assert_gone)();
    }
}
