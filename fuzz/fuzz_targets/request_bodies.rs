//! Every JSON body the REST API reads: decoding never panics, whatever the bytes.
#![no_main]
use app::types::{
    BulkMfaReset, EmailChangeRequest, InviteRequest, NewApiToken, NewRole, NewTenant, RoleChange, SsoConfigUpdate,
    SsoConnectionTest, TenantMfaSetting, TenantSettings,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<InviteRequest>(data);
    let _ = serde_json::from_slice::<NewTenant>(data);
    let _ = serde_json::from_slice::<TenantMfaSetting>(data);
    if let Ok(settings) = serde_json::from_slice::<TenantSettings>(data) {
        let _ = settings.policy.check();
    }
    let _ = serde_json::from_slice::<SsoConfigUpdate>(data);
    let _ = serde_json::from_slice::<SsoConnectionTest>(data);
    let _ = serde_json::from_slice::<BulkMfaReset>(data);
    let _ = serde_json::from_slice::<EmailChangeRequest>(data);
    let _ = serde_json::from_slice::<NewRole>(data);
    let _ = serde_json::from_slice::<RoleChange>(data);
    let _ = serde_json::from_slice::<NewApiToken>(data);
});
