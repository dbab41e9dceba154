from prover.cli import main

main()
