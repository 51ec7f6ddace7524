//! Several hosts sharing accounts through a real 3-member etcd cluster on loopback.

use crate::support::etcd::Etcd;

#[test]
fn the_harness_starts_a_healthy_three_member_cluster_and_reads_back_a_put() {
    let Some(mut etcd) = Etcd::start() else {
        return;
    };
    etcd.put("/t/a", "1");
    assert_eq!(
        etcd.range("/t/"),
        vec![("/t/a".to_string(), "1".to_string())]
    );
    etcd.kill(0);
    etcd.put("/t/b", "2");
    assert_eq!(etcd.range("/t/").len(), 2);
}
