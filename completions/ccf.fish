# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ccf_global_optspecs
    string join \n config= v/verbose q/quiet h/help V/version
end

function __fish_ccf_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ccf_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ccf_using_subcommand
    set -l cmd (__fish_ccf_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ccf -n "__fish_ccf_needs_command" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_needs_command" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_needs_command" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccf -n "__fish_ccf_needs_command" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "check-quota" -d 'One detection pass over every managed session; swaps when a limit is confirmed and returns to a higher-priority account when its reset has passed'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "swap" -d 'Move every managed session to another account now'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "rollback" -d 'Finish or undo an interrupted swap; else undo the last swap'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "ensure-symlinks" -d 'Create missing shared links and targets; report divergent ones with the fix'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "validate" -d 'Check config, account homes, shared links, tmux and state; report every problem'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "dispatch" -d 'Start queued tasks on free autonomous sessions'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "janitor" -d 'Finish or time out tasks, keep the pool at `min`, prune old finished tasks'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "status" -d 'Show accounts, link, sessions, tasks, the last swap and health'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "detect" -d 'Classify a pane capture and explain why check-quota would or would not swap'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "hook" -d 'Claude Code hook entry points (JSON on stdin; always exit 0)'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "install-hooks" -d 'Install ccf\'s hooks into each account\'s settings.json (merging, idempotent)'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "run-task" -d 'Run one claimed task in this pane and record its result (started by dispatch)'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "notify" -d 'Send notifications: `notify test [CHANNEL]` checks the setup'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "account" -d 'List accounts; take one out of rotation or put it back'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "systemd" -d 'Install or remove ccf\'s systemd user units'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "cron" -d 'Print crontab lines for hosts without a user systemd'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c ccf -n "__fish_ccf_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -l dry-run -d 'Print the plan and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand check-quota" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l to -d 'Account to move to [default: the highest-priority available account]' -r
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l wait -d 'While another ccf run holds the state lock, wait for it (at most DURATION, 1m when given alone) instead of exiting 75; the default when stdin is a terminal' -r
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l dry-run -d 'Print the plan and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l force -d 'Move onto an account ccf holds as exhausted (its limit is lifted: clears the mark)'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -l no-wait -d 'Exit 75 at once when another ccf run holds the state lock, even at a terminal'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand swap" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -l dry-run -d 'Print the plan and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -l account -d 'Only this account\'s home' -r
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -l dry-run -d 'Print what would be created and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand ensure-symlinks" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand validate" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand validate" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand validate" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand validate" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand validate" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -l dry-run -d 'Print the plan and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand dispatch" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -l dry-run -d 'Print the plan and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand janitor" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand status" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand status" -l json -d 'Print the status as JSON (stable; documented in the README)'
complete -c ccf -n "__fish_ccf_using_subcommand status" -l check -d 'Exit 3 when ccf is degraded or a swap is unfinished'
complete -c ccf -n "__fish_ccf_using_subcommand status" -l fleet -d 'Read etcd and show every host of the fleet and the accounts\' shared state'
complete -c ccf -n "__fish_ccf_using_subcommand status" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand status" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand status" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand status" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand detect" -l now -d 'The instant to resolve reset times against [default: now]' -r
complete -c ccf -n "__fish_ccf_using_subcommand detect" -l tz -d 'Zone for reset times printed without one [default: the config\'s, else the system\'s]' -r
complete -c ccf -n "__fish_ccf_using_subcommand detect" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand detect" -l json -d 'Print the verdict as JSON'
complete -c ccf -n "__fish_ccf_using_subcommand detect" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand detect" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand detect" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand detect" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand hook" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand hook" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand hook" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand hook" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccf -n "__fish_ccf_using_subcommand hook" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -l account -d 'Only this account\'s settings.json' -r
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -l dry-run -d 'Print the changes and write nothing'
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand install-hooks" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand run-task" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand run-task" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand run-task" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand run-task" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand run-task" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test message on every configured channel, or on one'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from test" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from test" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test message on every configured channel, or on one'
complete -c ccf -n "__fish_ccf_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -f -a "list" -d 'Each configured account: active, disabled, exhausted, needs login'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -f -a "disable" -d 'Never move sessions onto ACCOUNT (nor return to it) until it is enabled; the sessions already on it stay'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -f -a "enable" -d 'Put ACCOUNT back in rotation'
complete -c ccf -n "__fish_ccf_using_subcommand account; and not __fish_seen_subcommand_from list disable enable help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -l json -d 'One JSON array'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -l reason -d 'Why, shown by `account list` and `status`' -r
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from enable" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "list" -d 'Each configured account: active, disabled, exhausted, needs login'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Never move sessions onto ACCOUNT (nor return to it) until it is enabled; the sessions already on it stay'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Put ACCOUNT back in rotation'
complete -c ccf -n "__fish_ccf_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -f -a "install" -d 'Write the units (binary and config paths filled in), reload, enable and start them'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -f -a "uninstall" -d 'Stop, disable and remove the units'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -f -a "check-sandbox" -d 'What `install` runs inside a transient unit to see whether ccf works under a sandbox level (not for people)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and not __fish_seen_subcommand_from install uninstall check-sandbox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -l unit-dir -d 'Unit directory [default: $`XDG_CONFIG_HOME/systemd/user`]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -l sandbox -d 'Install this sandbox level instead of the strongest one measured to work' -r -f -a "full\t'Every setting shipped: namespaces (a user namespace for an ordinary user), capabilities and the system-call filter'
basic\t'What needs no namespace: seccomp filters, no new privileges, address families'
none\t'No sandbox at all'"
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -l dry-run -d 'Print what would be done and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -l unit-dir -d 'Unit directory [default: $`XDG_CONFIG_HOME/systemd/user`]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -l dry-run -d 'Print what would be done and change nothing'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -l environ-of -d 'A process of the operator\'s outside the sandbox, whose environment ccf must read' -r
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -l tmux -d 'Also reach the tmux server'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from check-sandbox" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write the units (binary and config paths filled in), reload, enable and start them'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Stop, disable and remove the units'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from help" -f -a "check-sandbox" -d 'What `install` runs inside a transient unit to see whether ccf works under a sandbox level (not for people)'
complete -c ccf -n "__fish_ccf_using_subcommand systemd; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand cron" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand cron" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand cron" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand cron" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand cron" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand completions" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand completions" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand completions" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand man" -l config -d 'Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`, else /etc/ccf/config.yaml]' -r -F
complete -c ccf -n "__fish_ccf_using_subcommand man" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c ccf -n "__fish_ccf_using_subcommand man" -s q -l quiet -d 'Say only what went wrong'
complete -c ccf -n "__fish_ccf_using_subcommand man" -s h -l help -d 'Print help'
complete -c ccf -n "__fish_ccf_using_subcommand man" -s V -l version -d 'Print version'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "check-quota" -d 'One detection pass over every managed session; swaps when a limit is confirmed and returns to a higher-priority account when its reset has passed'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "swap" -d 'Move every managed session to another account now'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "rollback" -d 'Finish or undo an interrupted swap; else undo the last swap'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "ensure-symlinks" -d 'Create missing shared links and targets; report divergent ones with the fix'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "validate" -d 'Check config, account homes, shared links, tmux and state; report every problem'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "dispatch" -d 'Start queued tasks on free autonomous sessions'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "janitor" -d 'Finish or time out tasks, keep the pool at `min`, prune old finished tasks'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "status" -d 'Show accounts, link, sessions, tasks, the last swap and health'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "detect" -d 'Classify a pane capture and explain why check-quota would or would not swap'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "hook" -d 'Claude Code hook entry points (JSON on stdin; always exit 0)'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "install-hooks" -d 'Install ccf\'s hooks into each account\'s settings.json (merging, idempotent)'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "run-task" -d 'Run one claimed task in this pane and record its result (started by dispatch)'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "notify" -d 'Send notifications: `notify test [CHANNEL]` checks the setup'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "account" -d 'List accounts; take one out of rotation or put it back'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "systemd" -d 'Install or remove ccf\'s systemd user units'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "cron" -d 'Print crontab lines for hosts without a user systemd'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "completions" -d 'Print shell completions'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c ccf -n "__fish_ccf_using_subcommand help; and not __fish_seen_subcommand_from check-quota swap rollback ensure-symlinks validate dispatch janitor status detect hook install-hooks run-task notify account systemd cron completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from notify" -f -a "test" -d 'Send a test message on every configured channel, or on one'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "list" -d 'Each configured account: active, disabled, exhausted, needs login'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "disable" -d 'Never move sessions onto ACCOUNT (nor return to it) until it is enabled; the sessions already on it stay'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "enable" -d 'Put ACCOUNT back in rotation'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from systemd" -f -a "install" -d 'Write the units (binary and config paths filled in), reload, enable and start them'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from systemd" -f -a "uninstall" -d 'Stop, disable and remove the units'
complete -c ccf -n "__fish_ccf_using_subcommand help; and __fish_seen_subcommand_from systemd" -f -a "check-sandbox" -d 'What `install` runs inside a transient unit to see whether ccf works under a sandbox level (not for people)'
