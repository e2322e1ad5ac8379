from generator.fastpath import main

main()
