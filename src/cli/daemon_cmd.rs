//! `flightdeck daemon status|stop`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use super::Failure;
use super::tasks::{connect, snapshot};
use crate::paths::Paths;
use crate::protocol::{Command, Event};

pub async fn status(paths: &Paths, json: bool) -> Result<(), Failure> {
    let pid = std::fs::read_to_string(paths.daemon_pid())
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok());
    let Some(mut client) = connect(paths).await? else {
        if json {
            println!(
                "{}",
                serde_json::json!({ "running": false, "socket": paths.socket() })
            );
        } else {
            println!("not running (socket {})", paths.socket().display());
        }
        return Err(Failure {
            code: 3,
            message: "the daemon is not running".into(),
        });
    };
    let tasks = snapshot(&mut client).await?;
    let live = tasks.iter().filter(|t| t.state.is_live()).count();
    if json {
        let status = serde_json::json!({
            "running": true,
            "pid": pid,
            "socket": paths.socket(),
            "tasks": tasks.len(),
            "live": live,
        });
        println!("{status}");
    } else {
        println!(
            "running (pid {}), socket {}, {} task(s), {live} live",
            pid.map_or("?".into(), |p| p.to_string()),
            paths.socket().display(),
            tasks.len()
        );
    }
    Ok(())
}

pub async fn stop(paths: &Paths, force: bool) -> Result<(), Failure> {
    let Some(mut client) = connect(paths).await? else {
        println!("the daemon is not running");
        return Ok(());
    };
    let live = snapshot(&mut client)
        .await?
        .iter()
        .filter(|t| t.state.is_live())
        .count();
    if live > 0 && !force {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::failed(format!(
                "{live} agent(s) are running; stopping the daemon stops them. Use --force to do it anyway"
            )));
        }
        print!("{live} agent(s) are running and will be stopped. Stop the daemon? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Failure::failed("not stopped"));
        }
    }
    let pid = std::fs::read_to_string(paths.daemon_pid())
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok());
    client.send(Command::Shutdown);
    // Wait for the shutdown and then for the connection to close, which
    // happens when the daemon process ends.
    let wait = async {
        let mut shut_down = false;
        while let Some(event) = client.events.recv().await {
            shut_down |= matches!(event, Event::ShutDown);
        }
        shut_down
    };
    let shut_down = tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .map_err(|_| Failure::failed("the daemon did not stop within 60 s"))?;
    if !shut_down {
        return Err(Failure::failed(
            "the daemon went away without confirming its shutdown",
        ));
    }
    // The connection closes a moment before the process is gone.
    if let Some(pid) = pid.map(nix::unistd::Pid::from_raw) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while nix::sys::signal::kill(pid, None).is_ok() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    println!("daemon stopped");
    Ok(())
}
