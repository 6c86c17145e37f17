//! containerd, through its runc shim (the path Kubernetes takes: a RuntimeClass whose handler
//! sets the shim's `BinaryName`), drives `knocker` as its runtime: `ctr run --runc-binary`.
//! The test starts its own containerd on a socket of its own and stops it afterwards.

use knocker_tests::*;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Containerd {
    dir: Scratch,
    daemon: Running,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = Scratch::new("containerd");
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n[grpc]\n  address = \"{0}/c.sock\"\n",
            d.display()
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let mut cmd = Command::new("containerd");
        cmd.arg("--config").arg(d.join("config.toml")).stdout(Stdio::null()).stderr(log);
        let daemon = Running::spawn(&mut cmd);
        let c = Containerd { dir, daemon };
        assert!(eventually(Duration::from_secs(20), || c.ctr(&["version"]).code == 0), "containerd did not come up");
        c
    }

    fn ctr(&self, words: &[&str]) -> Out {
        let mut cmd = Command::new("ctr");
        cmd.arg("-a").arg(self.dir.path().join("c.sock")).args(words);
        run_for(&mut cmd, Duration::from_secs(60))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // However the test ended, no task, shim or container outlives it.
        for id in ["k1", "k2"] {
            self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
            self.ctr(&["task", "delete", "-f", id]);
            self.ctr(&["container", "delete", id]);
        }
        self.daemon.signal(libc::SIGTERM);
        let _ = self.daemon.wait(Duration::from_secs(10));
    }
}

#[test]
fn ctr_runs_knocker_through_containerds_runc_shim() {
    let _g = shared();
    let c = Containerd::start();
    // The default rootfs as an image: podman builds the archive containerd imports.
    let archive = c.dir.path().join("image.tar");
    let script = format!(
        "tar -C {} -c . | podman import - localhost/knocker-ctr >/dev/null && podman save --format docker-archive -o {} localhost/knocker-ctr",
        rootfs().display(),
        archive.display()
    );
    assert_eq!(run(Command::new("sh").args(["-c", &script])).code, 0);
    assert_eq!(c.ctr(&["images", "import", archive.to_str().unwrap()]).code, 0);
    let image = "localhost/knocker-ctr:latest";
    let knocker = bin("knocker");
    let runtime = knocker.to_str().unwrap();

    let out = c.ctr(&["run", "--rm", "--runc-binary", runtime, image, "k1", "sh", "-c", "echo hello from ctr; exit 3"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, "hello from ctr\n"), "{out:?}");

    let out = c.ctr(&["run", "-d", "--runc-binary", runtime, image, "k2", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(Duration::from_secs(10), || c.ctr(&["task", "ls"]).stdout.contains("RUNNING")));
    let out = c.ctr(&["task", "exec", "--exec-id", "e1", "k2", "sh", "-c", "echo exec; exit 2"]);
    assert_eq!((out.code, out.stdout.as_str()), (2, "exec\n"), "{out:?}");
    assert_eq!(c.ctr(&["task", "kill", "k2"]).code, 0);
    assert!(eventually(Duration::from_secs(10), || c.ctr(&["task", "ls"]).stdout.contains("STOPPED")));
    let out = c.ctr(&["task", "delete", "k2"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(c.ctr(&["container", "delete", "k2"]).code, 0);
    assert!(!c.ctr(&["task", "ls"]).stdout.contains("k2"));
}
