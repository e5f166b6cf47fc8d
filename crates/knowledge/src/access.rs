//! Who may read which knowledge. The rule lives with every other access rule in
//! [`verbund_tenant::access::knowledge`]; this module only re-exports it under the names the
//! knowledge crate has always used.

pub use verbund_tenant::access::knowledge::{
    DraftTenants, KnowledgeReader, can_read_org_units, can_read_service, draft_tenants,
    readable_services, reader, reads_any, require_reader, sees_drafts_of,
};
