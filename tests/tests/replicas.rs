//! Several hubs on one database, as replicas behind a load balancer run: every one
//! schedules every connector, and each tick still runs once.

use abe_tests::{both_backends, TestDb};
use std::time::Duration;

both_backends!(
    two_hubs_run_each_scheduled_tick_once,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("areas.csv"), "code,name\n90,สงขลา\n").expect("csv");
        std::fs::write(
        dir.path().join("hub.toml"),
        "[[connectors]]\nname = \"every_second\"\ntarget = \"areas\"\nschedule = \"* * * * * *\"\n\
         source = { kind = \"csv\", path = \"areas.csv\" }\n\
         [connectors.mapping.fields]\ncode = { column = \"code\" }\nname_th = { column = \"name\" }\n",
    )
    .expect("config");
        let mut stops = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..2 {
            let store = abe_hub::startup::open_store(&db.url).await.expect("store");
            let config =
                abe_hub::config::HubConfig::load(&dir.path().join("hub.toml")).expect("config");
            let app = abe_hub::startup::Application::build(store, config, "127.0.0.1:0")
                .await
                .expect("hub starts");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            servers.push(tokio::spawn(app.run_until_stopped(async {
                let _ = stopped.await;
            })));
            stops.push(stop);
        }
        tokio::time::sleep(Duration::from_millis(4500)).await;
        for stop in stops {
            let _ = stop.send(());
        }
        for server in servers {
            server.await.expect("joins").expect("stops");
        }

        let store = db.store().await;
        let runs = store
            .runs(Some("every_second"), None, None, 100)
            .await
            .expect("runs");
        let ticks: Vec<(String, Option<String>)> = runs
            .items
            .iter()
            .rev()
            .filter(|r| r.trigger == "schedule")
            .map(|r| {
                (
                    r.status.as_str().to_string(),
                    r.scheduled_for.map(|t| t.to_rfc3339()),
                )
            })
            .collect();
        assert!(ticks.len() >= 2, "the schedule fired: {ticks:?}");
        assert!(
            ticks.len() <= 6,
            "4.5 s of a schedule every second: {ticks:?}"
        );
        let mut seen = std::collections::HashSet::new();
        for (status, tick) in &ticks {
            let tick = tick.as_ref().expect("a scheduled run names its tick");
            assert!(
                seen.insert(tick.clone()),
                "tick {tick} ran twice: {ticks:?}"
            );
            assert_ne!(status, "running", "{ticks:?}");
        }
    }
);
