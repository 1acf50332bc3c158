from sparkbook.cli import main

main()
