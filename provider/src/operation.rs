//! What every resource and data source handler works with: one
//! operation, with its request decoded and the Graph API of its tenant.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tfplugin::{Ctx, Diagnostics, Private, Value};

use crate::Client;
use crate::graph::TenantApi;

/// What a handler returns: its errors become the response's diagnostics
/// (after whatever it already put in the response, such as a partial state).
pub type Outcome = Result<(), Diagnostics>;

/// One operation of a resource or data source: the request decoded into
/// its model, the Graph API of the tenant it acts in (bounded by the
/// operation's timeout), the provider's context and the request's private
/// data.
pub struct Op<'a, S> {
    /// The plan (create), the stored state (read), the change (update),
    /// the state being destroyed (delete), or a data source's configuration.
    pub state: S,
    pub api: TenantApi<'a>,
    pub ctx: &'a Ctx<'a, Client>,
    /// The stored private data (read, update, delete) or the plan's
    /// (create); empty for data sources.
    pub private: &'a Private,
}

impl<'a, S: DeserializeOwned> Op<'a, S> {
    /// The operation on the object whose value is `v`: its model, and the
    /// Graph API of its `tenant_id` for at most `timeout`.
    pub fn begin(
        ctx: &'a Ctx<'a, Client>,
        v: &Value,
        private: &'a Private,
        timeout: Duration,
    ) -> Result<Op<'a, S>, Diagnostics> {
        let tenant = v.get("tenant_id").as_str().unwrap_or_default();
        Ok(Op {
            state: crate::model(v)?,
            api: ctx.client.tenant_api(ctx.cancel, tenant, timeout)?,
            ctx,
            private,
        })
    }
}
