/** Seed catalog: the four categories of the contract and realistic products in each. */
export interface SeedCategory { name: string; description: string }
export interface SeedProduct { sku: string; name: string; description: string | null; price: string; quantity: number; category: string }

export const seedCategories: readonly SeedCategory[] = [
  { name: 'Электроника', description: 'Смартфоны, ноутбуки, планшеты, телевизоры и аксессуары от ведущих мировых брендов. Официальная гарантия производителя на всю технику.' },
  { name: 'Одежда', description: 'Мужская и женская одежда, обувь и аксессуары на каждый сезон. Повседневные, спортивные и зимние модели популярных марок.' },
  { name: 'Книги', description: 'Художественная литература, классика, нон-фикшн и профессиональные издания. Печатные книги от крупнейших российских издательств.' },
  { name: 'Мебель', description: 'Мебель для гостиной, спальни, кабинета и детской комнаты. Диваны, кровати, шкафы, столы и системы хранения с доставкой и сборкой.' },
];

export const seedProducts: readonly SeedProduct[] = [
  {
    sku: 'LEN-IP5-14', name: 'Ноутбук Lenovo IdeaPad 5 14"', price: '74990.00', quantity: 12, category: 'Электроника',
    description: 'Лёгкий ноутбук с 14-дюймовым IPS-экраном, процессором AMD Ryzen 7 и 16 ГБ оперативной памяти. Подходит для работы, учёбы и поездок.',
  },
  {
    sku: 'ASUS-VB15-512', name: 'Ноутбук ASUS Vivobook 15 X1504 512 ГБ', price: '52990.00', quantity: 8, category: 'Электроника',
    description: 'Универсальный ноутбук с 15,6-дюймовым Full HD экраном и SSD на 512 ГБ. Тонкий корпус и клавиатура с цифровым блоком.',
  },
  {
    sku: 'APL-MBA13-M3', name: 'Ноутбук Apple MacBook Air 13" M3 8/256 ГБ', price: '119990.00', quantity: 0, category: 'Электроника',
    description: 'Бесшумный ноутбук на чипе Apple M3 с дисплеем Liquid Retina. До 18 часов автономной работы.',
  },
  {
    sku: 'SAM-A55-256', name: 'Смартфон Samsung Galaxy A55 8/256 ГБ', price: '38990.00', quantity: 25, category: 'Электроника',
    description: 'Смартфон с 6,6-дюймовым Super AMOLED экраном 120 Гц и основной камерой 50 Мп. Защита от воды и пыли по стандарту IP67.',
  },
  {
    sku: 'XIA-RN13-128', name: 'Смартфон Xiaomi Redmi Note 13 6/128 ГБ', price: '17990.50', quantity: 40, category: 'Электроника',
    description: 'Доступный смартфон с AMOLED-дисплеем и аккумулятором 5000 мА·ч. Поддержка быстрой зарядки 33 Вт.',
  },
  {
    sku: 'APL-IP15-128', name: 'Смартфон Apple iPhone 15 128 ГБ', price: '79990.00', quantity: 5, category: 'Электроника',
    description: 'Смартфон с Dynamic Island, камерой 48 Мп и разъёмом USB-C. Корпус из алюминия и цветного матового стекла.',
  },
  {
    sku: 'SNY-WH1000XM5', name: 'Наушники беспроводные Sony WH-1000XM5', price: '32990.00', quantity: 14, category: 'Электроника',
    description: 'Полноразмерные наушники с активным шумоподавлением и временем работы до 30 часов. Поддержка кодека LDAC.',
  },
  {
    sku: 'JBL-FLIP6-BLK', name: 'Портативная колонка JBL Flip 6, чёрная', price: '9990.00', quantity: 0, category: 'Электроника',
    description: 'Компактная Bluetooth-колонка с защитой IP67 и мощным звуком. До 12 часов воспроизведения без подзарядки.',
  },
  {
    sku: 'SAM-TAB-S9FE', name: 'Планшет Samsung Galaxy Tab S9 FE 6/128 ГБ', price: '36490.00', quantity: 7, category: 'Электроника',
    description: null,
  },
  {
    sku: 'LG-55UR-TV', name: 'Телевизор LG 55UR78006LK 55" 4K UHD', price: '44990.00', quantity: 6, category: 'Электроника',
    description: 'Телевизор с разрешением 4K и платформой webOS для онлайн-кинотеатров. Поддержка HDR10 и голосового управления.',
  },
  {
    sku: 'LOG-MXM3S-GR', name: 'Мышь беспроводная Logitech MX Master 3S', price: '9490.00', quantity: 30, category: 'Электроника',
    description: 'Эргономичная мышь с бесшумными кнопками и сенсором 8000 DPI. Подключение по Bluetooth или через приёмник Logi Bolt.',
  },
  {
    sku: 'XIA-SB8-BLK', name: 'Фитнес-браслет Xiaomi Smart Band 8', price: '2999.90', quantity: 60, category: 'Электроника',
    description: 'Фитнес-браслет с AMOLED-экраном, пульсометром и датчиком SpO2. До 16 дней работы от одного заряда.',
  },
  {
    sku: 'TNF-MCM-M', name: 'Куртка зимняя The North Face McMurdo', price: '42990.00', quantity: 4, category: 'Одежда',
    description: 'Тёплая мужская парка с пуховым утеплителем и съёмной опушкой на капюшоне. Водоотталкивающая ткань DryVent.',
  },
  {
    sku: 'UNQ-U-TEE-L', name: 'Футболка хлопок 100% Uniqlo U', price: '1499.00', quantity: 80, category: 'Одежда',
    description: 'Базовая футболка свободного кроя из плотного хлопкового трикотажа. Круглый ворот и усиленные швы.',
  },
  {
    sku: 'LEV-501-3232', name: 'Джинсы Levi’s 501 Original Fit', price: '8990.00', quantity: 22, category: 'Одежда',
    description: 'Классические прямые джинсы на пуговицах из плотного денима. Культовая модель, выпускаемая с 1873 года.',
  },
  {
    sku: 'ADI-UB22-42', name: 'Кроссовки Adidas Ultraboost 22, размер 42', price: '17990.00', quantity: 0, category: 'Одежда',
    description: 'Беговые кроссовки с амортизирующей подошвой Boost и верхом из дышащего трикотажа Primeknit.',
  },
  {
    sku: 'NIKE-TCF-HD', name: 'Худи Nike Sportswear Tech Fleece', price: '11490.00', quantity: 15, category: 'Одежда',
    description: 'Лёгкое и тёплое худи на молнии из фирменного материала Tech Fleece. Приталенный силуэт и карманы на молнии.',
  },
  {
    sku: 'ZRA-BLZ-W-S', name: 'Пиджак женский Zara оверсайз', price: '6999.00', quantity: 9, category: 'Одежда',
    description: 'Пиджак свободного кроя с лацканами и накладными карманами. Легко сочетается с джинсами и брюками.',
  },
  {
    sku: 'COL-SMF-M', name: 'Флисовая кофта Columbia Steens Mountain', price: '5490.00', quantity: 18, category: 'Одежда',
    description: 'Мягкая флисовая кофта на молнии для походов и повседневной носки. Хорошо сохраняет тепло и быстро сохнет.',
  },
  {
    sku: 'GLJ-DRS-W-M', name: 'Платье трикотажное Gloria Jeans', price: '1999.00', quantity: 27, category: 'Одежда',
    description: null,
  },
  {
    sku: 'BAON-PUH-W-M', name: 'Пуховик женский Baon с капюшоном', price: '12999.00', quantity: 11, category: 'Одежда',
    description: 'Удлинённый пуховик с натуральным утеплителем и ветрозащитной планкой. Рассчитан на температуру до −25 °C.',
  },
  {
    sku: 'OST-SWT-M-L', name: 'Свитер мужской Ostin из шерсти мериноса', price: '3499.00', quantity: 0, category: 'Одежда',
    description: 'Тонкий свитер с круглым вырезом из мягкой мериносовой шерсти. Подходит для офиса и повседневных образов.',
  },
  {
    sku: 'TBL-6IN-PREM-43', name: 'Ботинки Timberland 6-Inch Premium', price: '19990.00', quantity: 6, category: 'Одежда',
    description: 'Водонепроницаемые ботинки из нубука с утеплителем PrimaLoft. Прочная резиновая подошва с глубоким протектором.',
  },
  {
    sku: 'FLK-FAM-3P', name: 'Носки Falke Family, 3 пары', price: '1290.00', quantity: 100, category: 'Одежда',
    description: 'Набор повседневных носков из хлопка с добавлением эластана. Не теряют форму после многократных стирок.',
  },
  {
    sku: 'BK-BULG-MM', name: 'Книга «Мастер и Маргарита», М. А. Булгаков', price: '549.90', quantity: 35, category: 'Книги',
    description: 'Знаменитый роман о визите Воланда в Москву 1930-х годов и истории Мастера и Маргариты. Твёрдый переплёт.',
  },
  {
    sku: 'BK-TOLST-VM', name: 'Книга «Война и мир» (в 2 томах), Л. Н. Толстой', price: '1299.00', quantity: 12, category: 'Книги',
    description: 'Роман-эпопея о судьбах русского общества в эпоху наполеоновских войн. Полный текст в двух томах.',
  },
  {
    sku: 'BK-DOST-PN', name: 'Книга «Преступление и наказание», Ф. М. Достоевский', price: '399.00', quantity: 28, category: 'Книги',
    description: 'Психологический роман о студенте Родионе Раскольникове и цене его преступления.',
  },
  {
    sku: 'BK-ORW-1984', name: 'Книга «1984», Джордж Оруэлл', price: '459.00', quantity: 0, category: 'Книги',
    description: 'Классическая антиутопия о тоталитарном государстве и всевидящем Большом Брате.',
  },
  {
    sku: 'BK-HARARI-SAP', name: 'Книга «Sapiens. Краткая история человечества», Юваль Ной Харари', price: '899.00', quantity: 20, category: 'Книги',
    description: 'Научно-популярный бестселлер о том, как Homo sapiens стал доминирующим видом на планете.',
  },
  {
    sku: 'BK-MARTIN-CC', name: 'Книга «Чистый код», Роберт Мартин', price: '1590.00', quantity: 9, category: 'Книги',
    description: 'Практическое руководство по написанию читаемого и сопровождаемого кода. Настольная книга разработчика.',
  },
  {
    sku: 'BK-KLEPP-DDIA', name: 'Книга «Высоконагруженные приложения», Мартин Клеппман', price: '2490.00', quantity: 6, category: 'Книги',
    description: 'Подробный разбор принципов проектирования надёжных, масштабируемых и удобных в сопровождении систем хранения и обработки данных.',
  },
  {
    sku: 'BK-ROWL-HP1', name: 'Книга «Гарри Поттер и философский камень», Дж. К. Роулинг', price: '799.00', quantity: 40, category: 'Книги',
    description: 'Первая книга серии о юном волшебнике и его учёбе в школе чародейства и волшебства Хогвартс.',
  },
  {
    sku: 'BK-PUSH-EO', name: 'Книга «Евгений Онегин», А. С. Пушкин', price: '349.00', quantity: 30, category: 'Книги',
    description: null,
  },
  {
    sku: 'BK-STRUG-PNO', name: 'Книга «Пикник на обочине», А. и Б. Стругацкие', price: '429.00', quantity: 17, category: 'Книги',
    description: 'Культовая научная фантастика о сталкерах, пробирающихся в загадочную Зону за инопланетными артефактами.',
  },
  {
    sku: 'BK-CHEKH-RASS', name: 'Книга «Рассказы», А. П. Чехов', price: '319.90', quantity: 14, category: 'Книги',
    description: 'Сборник лучших юмористических и драматических рассказов Антона Павловича Чехова.',
  },
  {
    sku: 'BK-KAHN-TFS', name: 'Книга «Думай медленно… решай быстро», Даниэль Канеман', price: '999.00', quantity: 0, category: 'Книги',
    description: 'Нобелевский лауреат объясняет, как работают две системы мышления и почему мы совершаем ошибки в суждениях.',
  },
  {
    sku: 'IKEA-FRH-GR', name: 'Диван угловой IKEA Friheten', price: '49990.00', quantity: 3, category: 'Мебель',
    description: 'Угловой диван-кровать с местом для хранения под шезлонгом. Легко раскладывается в спальное место.',
  },
  {
    sku: 'IKEA-MALM-160', name: 'Кровать IKEA Malm 160×200', price: '24990.00', quantity: 5, category: 'Мебель',
    description: 'Двуспальная кровать с высоким изголовьем и лаконичным дизайном. Основание и матрас приобретаются отдельно.',
  },
  {
    sku: 'IKEA-BILLY-WH', name: 'Стеллаж IKEA Billy, белый', price: '6990.00', quantity: 14, category: 'Мебель',
    description: 'Классический книжный стеллаж с регулируемыми полками. Подходит для гостиной, кабинета и детской.',
  },
  {
    sku: 'IKEA-POANG-BR', name: 'Кресло IKEA Poäng, берёза', price: '12990.00', quantity: 8, category: 'Мебель',
    description: 'Кресло на пружинящем каркасе из гнутого клеёного шпона берёзы. Съёмный чехол можно стирать.',
  },
  {
    sku: 'HOFF-VAN-TBL', name: 'Стол обеденный Hoff Ванкувер раскладной', price: '18990.00', quantity: 4, category: 'Мебель',
    description: 'Раскладной обеденный стол на 4–6 персон со столешницей под дуб. Механизм трансформации позволяет увеличить длину.',
  },
  {
    sku: 'STG-TC-SIMPLE', name: 'Кресло компьютерное Stool Group TopChairs Simple', price: '8990.00', quantity: 16, category: 'Мебель',
    description: 'Офисное кресло с сетчатой спинкой и регулировкой высоты сиденья. Механизм качания с фиксацией.',
  },
  {
    sku: 'ASK-BAL-FRM-160', name: 'Матрас Askona Balance Forma 160×200', price: '21990.00', quantity: 7, category: 'Мебель',
    description: 'Ортопедический матрас средней жёсткости на независимом пружинном блоке. Высота 20 см.',
  },
  {
    sku: 'SHT-GRAND-3D', name: 'Шкаф-купе Шатура Гранд 3-дверный', price: '39990.00', quantity: 2, category: 'Мебель',
    description: 'Вместительный шкаф-купе с зеркальной дверью, штангой для одежды и полками. Бесшумная система раздвижных дверей.',
  },
  {
    sku: 'LAZ-MARIO-DSK', name: 'Письменный стол Лазурит Марио', price: '11990.00', quantity: 6, category: 'Мебель',
    description: null,
  },
  {
    sku: 'IKEA-KALLAX-4X4', name: 'Стеллаж IKEA Kallax 4×4, белый', price: '12490.00', quantity: 9, category: 'Мебель',
    description: 'Стеллаж с 16 открытыми ячейками, которые можно дополнить коробками и вставками. Ставится вертикально или горизонтально.',
  },
  {
    sku: 'IKEA-HEMNES-8', name: 'Комод IKEA Hemnes, 8 ящиков', price: '27990.00', quantity: 3, category: 'Мебель',
    description: 'Комод из массива сосны с восемью вместительными ящиками. Плавное выдвижение и упоры для ящиков.',
  },
  {
    sku: 'HOFF-LOFT-NS', name: 'Тумба прикроватная Hoff Лофт', price: '4990.00', quantity: 21, category: 'Мебель',
    description: 'Компактная прикроватная тумба с выдвижным ящиком и открытой полкой. Металлический каркас в стиле лофт.',
  },
];
