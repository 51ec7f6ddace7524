complete --keep-order --exclusive --command ccf --arguments "(CCF_COMPLETE=fish ccf -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
